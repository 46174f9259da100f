// verikit::detail — store selection by URL: the embedded store with its options, the file store, or Redis.
#include "store/open_store.hpp"

#include <charconv>
#include <optional>

#include "redis/endpoint.hpp"
#include "verikit/file_store.hpp"
#include "verikit/memory_store.hpp"
#include "verikit/redis_store.hpp"

namespace verikit::detail {
namespace {

// Calls option(name, text, number) for each name=value of a URL's query (number: the value as a
// whole number, or nothing); stops at the first error option returns.
template <class Option>
Status for_each_option(std::string_view query, Option&& option) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view text = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    long long v = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    const bool whole = ec == std::errc{} && end == text.data() + text.size() && !text.empty();
    if (auto s = option(name, text, whole ? std::optional<long long>(v) : std::nullopt); !s) return s;
  }
  return Unit{};
}

Expected<MemoryStoreOptions> memory_options(std::string_view query) {
  MemoryStoreOptions o;
  auto s = for_each_option(query, [&](std::string_view name, std::string_view, std::optional<long long> v) -> Status {
    if (name == "capacity") {
      if (!v || *v < 16 || *v > 1'000'000'000)
        return make_error(Errc::config, "memory:// capacity must be 16 to 1000000000 records");
      o.capacity = static_cast<std::size_t>(*v);
    } else if (name == "reap_interval_ms") {
      if (!v || *v < 0 || *v > 3'600'000) return make_error(Errc::config, "memory:// reap_interval_ms must be 0 to 3600000");
      o.reap_interval = std::chrono::milliseconds(*v);
    } else {
      return make_error(Errc::config, "memory:// has no option '" + std::string(name) + "' (capacity, reap_interval_ms)");
    }
    return Unit{};
  });
  if (!s) return std::move(s).error();
  return o;
}

// file:///path/to/dir[?max_size_mb=N&durability=sync|nometasync|nosync&reap_interval_ms=M]
Expected<std::shared_ptr<Store>> open_file_store(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("file://").size());
  const std::size_t q = rest.find('?');
  const std::string_view path = rest.substr(0, q);
  if (path.empty() || path.front() != '/')
    return make_error(Errc::config, "file:// needs an absolute directory: file:///path/to/dir");
  FileStoreOptions o;
  auto s = for_each_option(q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1),
                           [&](std::string_view name, std::string_view text, std::optional<long long> v) -> Status {
    if (name == "max_size_mb") {
      if (!v || *v < 1 || *v > 1'048'576) return make_error(Errc::config, "file:// max_size_mb must be 1 to 1048576");
      o.max_size_mb = static_cast<std::size_t>(*v);
    } else if (name == "durability") {
      if (text == "sync") o.durability = FileDurability::sync;
      else if (text == "nometasync") o.durability = FileDurability::nometasync;
      else if (text == "nosync") o.durability = FileDurability::nosync;
      else return make_error(Errc::config, "file:// durability must be sync, nometasync or nosync");
    } else if (name == "reap_interval_ms") {
      if (!v || *v < 0 || *v > 3'600'000) return make_error(Errc::config, "file:// reap_interval_ms must be 0 to 3600000");
      o.reap_interval = std::chrono::milliseconds(*v);
    } else {
      return make_error(Errc::config, "file:// has no option '" + std::string(name) +
                                          "' (max_size_mb, durability, reap_interval_ms)");
    }
    return Unit{};
  });
  if (!s) return std::move(s).error();
  return make_file_store(std::string(path), nullptr, o);
}

}  // namespace

bool names_shared_store(std::string_view url) noexcept {
  return redis::is_redis_url(url) || url.starts_with("file://");
}

Expected<std::shared_ptr<Store>> open_store(const Config& config) {
  const std::string_view url = config.store_url;
  for (std::string_view memory : {"memory://", "memory:"}) {
    if (url == memory || url.empty()) return make_memory_store();
    if (url.starts_with(memory) && url.size() > memory.size() && url[memory.size()] == '?') {
      auto options = memory_options(url.substr(memory.size() + 1));
      if (!options) return std::move(options).error();
      return make_memory_store(nullptr, *options);
    }
  }
  if (url.starts_with("file://")) return open_file_store(url);
  if (redis::is_redis_url(url)) return make_redis_store(config);
  return make_error(Errc::config, "store URL must start with memory://, file://, redis://, rediss://, unix://, redis+cluster://, "
                                  "rediss+cluster://, redis+sentinel:// or rediss+sentinel://");
}

}  // namespace verikit::detail
