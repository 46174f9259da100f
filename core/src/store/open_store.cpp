// verikit::detail — store selection by URL: the embedded store with its options, or Redis.
#include "store/open_store.hpp"

#include <charconv>

#include "redis/endpoint.hpp"
#include "verikit/memory_store.hpp"
#include "verikit/redis_store.hpp"

namespace verikit::detail {
namespace {

Expected<MemoryStoreOptions> memory_options(std::string_view query) {
  MemoryStoreOptions o;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view text = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    long long v = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    const bool number = ec == std::errc{} && end == text.data() + text.size() && !text.empty();
    if (name == "capacity") {
      if (!number || v < 16 || v > 1'000'000'000)
        return make_error(Errc::config, "memory:// capacity must be 16 to 1000000000 records");
      o.capacity = static_cast<std::size_t>(v);
    } else if (name == "reap_interval_ms") {
      if (!number || v < 0 || v > 3'600'000)
        return make_error(Errc::config, "memory:// reap_interval_ms must be 0 to 3600000");
      o.reap_interval = std::chrono::milliseconds(v);
    } else {
      return make_error(Errc::config, "memory:// has no option '" + std::string(name) + "' (capacity, reap_interval_ms)");
    }
  }
  return o;
}

}  // namespace

bool names_shared_store(std::string_view url) noexcept { return redis::is_redis_url(url); }

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
  if (redis::is_redis_url(url)) return make_redis_store(config);
  return make_error(Errc::config, "store URL must start with memory://, redis://, rediss://, unix://, redis+cluster://, "
                                  "rediss+cluster://, redis+sentinel:// or rediss+sentinel://");
}

}  // namespace verikit::detail
