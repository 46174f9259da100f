// verikit::redis — a Sentinel-managed primary: found with SENTINEL get-master-addr-by-name,
// asked again every second and whenever a request could not run (no connection, READONLY),
// its connections checking ROLE at every (re)connect so that a demoted node is never written to.
#include <charconv>

#include "redis/routed.hpp"

namespace verikit::redis {
namespace {

constexpr std::chrono::milliseconds kPoll{1000};

class SentinelCore final : public RoutedCore {
 public:
  using RoutedCore::RoutedCore;

  Status each_primary(const Link::PrimaryCheck& check) override {
    std::shared_ptr<Client> m;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      m = master_;
    }
    if (!m) return make_error(Errc::store_unavailable, endpoint_.describe() + ": no master known");
    return check(*m, {});
  }

 protected:
  Target pick(Routed& r) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!master_ && r.last.empty()) r.last = "no master of '" + endpoint_.master_name + "' is known";
    return {master_, false};
  }

  Next on_error_reply(Routed& r, const Reply& error) override {
    const std::string_view e = error.str;
    if (e.starts_with("READONLY") || e.starts_with("MASTERDOWN") || e.starts_with("LOADING")) {
      r.last = error.str;
      request_refresh();
      return Next::retry_later;
    }
    return Next::deliver;
  }

  std::chrono::milliseconds poll_interval() const override { return kPoll; }

  Status refresh() override {
    std::optional<Error> first;
    std::string host;
    int port = 0;
    for (const auto& s : endpoint_.seeds) {
      auto found = ask(s);
      if (!found) {
        if (!first || (first->code != Errc::config && found.error().code == Errc::config)) first = std::move(found).error();
        continue;
      }
      host = found->host;
      port = found->port;
      break;
    }
    if (port == 0) return *first;
    const std::string a = address(host, port);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (master_ && a == master_address_) return Unit{};
    }
    Endpoint primary = endpoint_.at(host, port);
    primary.require_master = true;
    auto c = node(primary, true);
    if (!c) return std::move(c).error();
    bool switched = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      switched = master_ != nullptr;
    }
    if (switched) check_new_primary(**c, {});
    {
      std::lock_guard<std::mutex> lock(mutex_);
      master_ = *c;
      master_address_ = a;
    }
    keep_only({a});
    return Unit{};
  }

  void release_tables() noexcept override {
    released_master_ = std::move(master_);
    released_sentinels_.swap(sentinels_);
  }
  void stop_released() noexcept override {
    if (released_master_) released_master_->stop();
    for (auto& [a, c] : released_sentinels_)
      if (c) c->stop();
    released_master_.reset();
    released_sentinels_.clear();
  }

 private:
  // One Sentinel's answer: the primary's address.
  Expected<Endpoint::Address> ask(const Endpoint::Address& sentinel) {
    const std::string at = address(sentinel.host, sentinel.port);
    std::shared_ptr<Client> c;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = sentinels_.find(at); it != sentinels_.end()) c = it->second;
    }
    if (!c) {
      Endpoint s = endpoint_.at(sentinel.host, sentinel.port);
      s.username = endpoint_.sentinel_username;
      s.password = endpoint_.sentinel_password;
      s.db = 0;
      auto made = Client::connect(s, warn_);
      if (!made) return std::move(made).error();
      c = std::move(made).value();
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return make_error(Errc::store_unavailable, "the Redis client is shutting down");
      sentinels_[at] = c;
    }
    auto r = c->command_sync({"SENTINEL", "get-master-addr-by-name", endpoint_.master_name});
    if (!r) return std::move(r).error();
    if (r->is_nil())
      return make_error(Errc::config, "Sentinel at " + at + " knows no master named '" + endpoint_.master_name + "'");
    if (r->is_error()) return make_error(Errc::store_unavailable, "Sentinel at " + at + ": " + r->str);
    if (r->type != Reply::Type::array || r->elements.size() != 2)
      return make_error(Errc::store_protocol, "Sentinel at " + at + ": unexpected reply to get-master-addr-by-name");
    Endpoint::Address out;
    out.host = r->elements[0].str;
    const std::string& p = r->elements[1].str;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), out.port);
    if (ec != std::errc() || out.port < 1 || out.port > 65535)
      return make_error(Errc::store_protocol, "Sentinel at " + at + ": bad port '" + p + "'");
    return out;
  }

  std::shared_ptr<Client> master_;
  std::string master_address_;
  std::map<std::string, std::shared_ptr<Client>> sentinels_;
  // See release_tables.
  std::shared_ptr<Client> released_master_;
  std::map<std::string, std::shared_ptr<Client>> released_sentinels_;
};

}  // namespace

std::shared_ptr<RoutedCore> make_sentinel_core(const Endpoint& endpoint, Warn warn) {
  return std::make_shared<SentinelCore>(endpoint, std::move(warn));
}

}  // namespace verikit::redis
