// verikit::redis — Link: the synchronous call, and connecting by topology.
#include "redis/link.hpp"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>

#include "redis/client.hpp"
#include "redis/routed.hpp"

namespace verikit::redis {

Expected<Reply> Link::command_sync(const std::vector<std::string_view>& args) {
  if (on_io_thread())
    return make_error(Errc::invalid_argument,
                      "a synchronous Redis call was made on the Redis client's own I/O thread (inside a completion "
                      "callback): it would wait for itself forever; use the asynchronous form there (nothing was sent)");
  std::mutex m;
  std::condition_variable cv;
  std::optional<Expected<Reply>> result;
  command(args, [&](Expected<Reply> r) {
    std::lock_guard<std::mutex> lock(m);
    result.emplace(std::move(r));
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

Expected<std::unique_ptr<Link>> connect_link(const Endpoint& endpoint, Warn warn) {
  if (!warn)
    warn = [](std::string_view w) { std::fprintf(stderr, "%.*s\n", static_cast<int>(w.size()), w.data()); };
  if (endpoint.topology == Endpoint::Topology::single) {
    auto c = Client::connect(endpoint, std::move(warn));
    if (!c) return std::move(c).error();
    return std::unique_ptr<Link>(std::move(c).value());
  }
  auto core = endpoint.topology == Endpoint::Topology::cluster ? make_cluster_core(endpoint, std::move(warn))
                                                               : make_sentinel_core(endpoint, std::move(warn));
  if (auto s = core->start(); !s) return std::move(s).error();
  return std::unique_ptr<Link>(std::make_unique<RoutedLink>(std::move(core)));
}

}  // namespace verikit::redis
