// verikit::redis — the Redis Cluster router: the slot map from CLUSTER SLOTS, one client per
// primary, MOVED (the map is updated and refreshed), ASK (ASKING on the importing node),
// TRYAGAIN / CLUSTERDOWN (retried after a pause, within the command timeout).
#include <algorithm>
#include <array>
#include <charconv>

#include "redis/routed.hpp"
#include "redis/slot.hpp"

namespace verikit::redis {
namespace {

// "MOVED 3999 127.0.0.1:6381" / "ASK ...": the slot and the host and port.
bool parse_redirect(std::string_view error, int& slot, std::string& host, int& port) {
  const auto sp1 = error.find(' ');
  const auto sp2 = error.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return false;
  const std::string_view s = error.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view hp = error.substr(sp2 + 1);
  const auto colon = hp.rfind(':');
  if (colon == std::string_view::npos) return false;
  auto [p1, e1] = std::from_chars(s.data(), s.data() + s.size(), slot);
  auto [p2, e2] = std::from_chars(hp.data() + colon + 1, hp.data() + hp.size(), port);
  if (e1 != std::errc() || e2 != std::errc() || slot < 0 || slot >= kSlots) return false;
  host = std::string(hp.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return true;
}

class ClusterCore final : public RoutedCore {
 public:
  using RoutedCore::RoutedCore;

  Status each_primary(const Link::PrimaryCheck& check) override {
    std::vector<Primary> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      all = primaries_;
    }
    for (const Primary& p : all) {
      if (!p.client)
        return make_error(Errc::store_unavailable, "Redis Cluster primary " + p.address + " is unreachable");
      if (auto s = check(*p.client, p.slots); !s) return s;
    }
    return Unit{};
  }

 protected:
  struct Primary {
    std::string address;
    std::shared_ptr<Client> client;  // null: unreachable at the last refresh
    std::vector<SlotRange> slots;
  };

  Target pick(Routed& r) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!r.ask.empty()) {
      const std::string to = std::move(r.ask);
      r.ask.clear();
      if (auto c = known_locked(to)) return {c, true};
      r.last = "ASK redirection to " + to + ", a node not connected";
      return {};
    }
    if (r.slot < 0) {
      for (const Primary& p : primaries_)
        if (p.client) return {p.client, false};
      r.last = "no Redis Cluster primary is reachable";
      return {};
    }
    const int i = owner_[static_cast<std::size_t>(r.slot)];
    if (i < 0 || !primaries_[static_cast<std::size_t>(i)].client) {
      if (r.last.empty()) r.last = "no reachable primary serves slot " + std::to_string(r.slot);
      return {};
    }
    return {primaries_[static_cast<std::size_t>(i)].client, false};
  }

  Next on_error_reply(Routed& r, const Reply& error) override {
    const std::string_view e = error.str;
    if (e.starts_with("MOVED ") || e.starts_with("ASK ")) {
      int slot = 0, port = 0;
      std::string host;
      if (!parse_redirect(e, slot, host, port)) return Next::deliver;
      r.last = error.str;
      const std::string to = address(host, port);
      if (e.starts_with("ASK ")) {
        r.ask = to;
        return Next::retry_now;
      }
      request_refresh();
      std::lock_guard<std::mutex> lock(mutex_);
      for (std::size_t i = 0; i < primaries_.size(); ++i) {
        if (primaries_[i].address != to || !primaries_[i].client) continue;
        owner_[static_cast<std::size_t>(slot)] = static_cast<std::int16_t>(i);
        return Next::retry_now;
      }
      return Next::retry_later;  // a node not known yet: the refresh connects it
    }
    if (e.starts_with("TRYAGAIN")) {  // a slot being migrated, keys on both sides: soon settled
      r.last = error.str;
      return Next::retry_later;
    }
    if (e.starts_with("CLUSTERDOWN") || e.starts_with("READONLY") || e.starts_with("MASTERDOWN") ||
        e.starts_with("LOADING")) {
      r.last = error.str;
      request_refresh();
      return Next::retry_later;
    }
    return Next::deliver;
  }

  // Asks the known primaries, then the seeds, for CLUSTER SLOTS: the first answer wins.
  Status refresh() override {
    std::vector<Endpoint::Address> ask;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const Primary& p : primaries_)
        if (p.client) ask.push_back({p.client->endpoint().host, p.client->endpoint().port});
    }
    ask.insert(ask.end(), endpoint_.seeds.begin(), endpoint_.seeds.end());
    std::optional<Error> first;
    for (const auto& a : ask) {
      auto c = node(endpoint_.at(a.host, a.port), true);
      if (!c) {
        if (c.error().code == Errc::config) return std::move(c).error();  // a wrong password, a bad certificate
        if (!first) first = std::move(c).error();
        continue;
      }
      if (!*c) continue;
      auto reply = (*c)->command_sync({"CLUSTER", "SLOTS"});
      if (reply && reply->is_error() && reply->str.find("cluster support disabled") != std::string::npos)
        return make_error(Errc::config, "Redis at " + address(a.host, a.port) +
                                            " is not in Cluster mode (cluster_enabled:0): use a redis:// URL for a "
                                            "single server");
      if (!reply || reply->is_error()) {
        if (!first)
          first = reply ? make_error(Errc::store_unavailable, "Redis at " + address(a.host, a.port) +
                                                                  ": CLUSTER SLOTS refused: " + reply->str)
                        : std::move(reply).error();
        continue;
      }
      if (auto s = apply(*reply, a.host); !s) {
        if (!first) first = std::move(s).error();
        continue;
      }
      return Unit{};
    }
    return first ? *first : make_error(Errc::store_unavailable, endpoint_.describe() + ": no node answered");
  }

  void release_tables() noexcept override {
    released_.swap(primaries_);
    owner_.fill(-1);
  }
  void stop_released() noexcept override {
    for (Primary& p : released_)
      if (p.client) p.client->stop();
    released_.clear();
  }

 private:
  // CLUSTER SLOTS: [[first, last, [host, port, id, ...], replicas...], ...]
  Status apply(const Reply& slots, const std::string& asked_host) {
    auto bad = [&] { return make_error(Errc::store_protocol, "unexpected reply to CLUSTER SLOTS from " + asked_host); };
    if (slots.type != Reply::Type::array) return bad();
    std::vector<Primary> next;
    std::array<std::int16_t, kSlots> owner;
    owner.fill(-1);
    for (const Reply& range : slots.elements) {
      if (range.type != Reply::Type::array || range.elements.size() < 3) return bad();
      const Reply& lo = range.elements[0];
      const Reply& hi = range.elements[1];
      const Reply& who = range.elements[2];
      if (lo.type != Reply::Type::integer || hi.type != Reply::Type::integer || lo.integer < 0 ||
          hi.integer >= kSlots || lo.integer > hi.integer || who.type != Reply::Type::array || who.elements.size() < 2 ||
          who.elements[1].type != Reply::Type::integer)
        return bad();
      std::string host = who.elements[0].str;
      if (host.empty() || host == "?") host = asked_host;  // "the node you asked"
      const int port = static_cast<int>(who.elements[1].integer);
      const std::string a = address(host, port);
      std::size_t i = 0;
      while (i < next.size() && next[i].address != a) ++i;
      if (i == next.size()) {
        Primary p;
        p.address = a;
        auto c = node(endpoint_.at(host, port), true);
        if (c && *c) p.client = *c;
        else if (!c && c.error().code == Errc::config) return std::move(c).error();
        next.push_back(std::move(p));
      }
      next[i].slots.push_back({static_cast<int>(lo.integer), static_cast<int>(hi.integer)});
      for (long long s = lo.integer; s <= hi.integer; ++s) owner[static_cast<std::size_t>(s)] = static_cast<std::int16_t>(i);
    }
    if (next.empty()) return make_error(Errc::store_unavailable, "Redis Cluster at " + asked_host + " serves no slot yet");
    std::vector<std::string> before;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const Primary& p : primaries_) before.push_back(p.address);
    }
    if (!before.empty())  // (the first map: the store checks every primary itself)
      for (const Primary& p : next)
        if (p.client && std::find(before.begin(), before.end(), p.address) == before.end())
          check_new_primary(*p.client, p.slots);
    std::vector<std::string> keep;
    for (const Primary& p : next) keep.push_back(p.address);
    std::vector<Primary> old;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      old.swap(primaries_);
      primaries_ = std::move(next);
      owner_ = owner;
    }
    keep_only(keep);
    return Unit{};  // `old` is released here, outside the lock (the nodes list still holds them)
  }

  std::vector<Primary> primaries_;
  std::vector<Primary> released_;  // see release_tables
  std::array<std::int16_t, kSlots> owner_ = [] {
    std::array<std::int16_t, kSlots> a;
    a.fill(-1);
    return a;
  }();
};

}  // namespace

std::shared_ptr<RoutedCore> make_cluster_core(const Endpoint& endpoint, Warn warn) {
  return std::make_shared<ClusterCore>(endpoint, std::move(warn));
}

}  // namespace verikit::redis
