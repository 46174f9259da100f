// verikit — the Redis store: each operation is one EVALSHA of its script (NOSCRIPT: the script
// is sent whole and runs; it may not have run before, so this is no re-send). Replies are
// checked field by field: anything unexpected is a store_protocol error, never an outcome.
#include "verikit/redis_store.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <span>
#include <string_view>

#include "redis/client.hpp"
#include "store/redis_preflight.hpp"
#include "store/redis_scripts.hpp"

namespace verikit {
namespace {

using redis::Reply;
namespace scripts = detail::scripts;

Error protocol(std::string_view what) {
  return make_error(Errc::store_protocol, "unexpected reply from Redis: " + std::string(what));
}

// Checks a script's reply: Redis error replies are faults (store_unavailable: the server
// refused, e.g. OOM or READONLY); `want` is the reply's expected shape.
Expected<Reply> checked(Expected<Reply> r, Reply::Type want, std::size_t min_elements = 0) {
  if (!r) return r;
  if (r->is_error()) return make_error(Errc::store_unavailable, "Redis refused the operation: " + r->str);
  if (r->type != want) return protocol("wrong reply type");
  if (want == Reply::Type::array && r->elements.size() < min_elements) return protocol("too few elements");
  return r;
}

bool is_int(const Reply& r) { return r.type == Reply::Type::integer; }
bool is_str(const Reply& r) { return r.type == Reply::Type::string; }

TimePoint at(long long ms) { return TimePoint(std::chrono::milliseconds(ms)); }

Expected<Outcome> outcome_of(const Reply& r) {
  if (!is_int(r) || r.integer < 0 || r.integer > static_cast<long long>(Outcome::cooldown))
    return protocol("bad status");
  return static_cast<Outcome>(r.integer);
}

// A script's array reply checked element by element against `shape`: 'o' an outcome, 'i' an
// integer, 's' a string (elements past the shape are left to the caller).
Expected<Reply> shaped(Expected<Reply> raw, std::string_view shape, std::string_view script) {
  auto r = checked(std::move(raw), Reply::Type::array, shape.size());
  if (!r) return r;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const Reply& e = r->elements[i];
    if (shape[i] == 'o') {
      if (auto o = outcome_of(e); !o) return std::move(o).error();
    } else if (shape[i] == 'i' ? !is_int(e) : !is_str(e)) {
      return protocol(script);
    }
  }
  return r;
}

class RedisStore final : public Store {
 public:
  RedisStore(std::unique_ptr<redis::Client> client, std::string prefix)
      : client_(std::move(client)), prefix_(std::move(prefix)) {}

  Status load_scripts() {
    for (const scripts::Script* s : kAll) {
      auto r = checked(client_->command_sync({"SCRIPT", "LOAD", s->body}), Reply::Type::string);
      if (!r) return Error{r.error().code, "loading script " + std::string(s->name) + ": " + r.error().message};
      shas_[index_of(*s)] = r->str;
    }
    return Unit{};
  }

  // Every command the scripts call, for the start-up permission check.
  static std::vector<std::string> script_commands() {
    std::vector<std::string> all;
    for (const scripts::Script* s : kAll)
      for (auto& name : detail::commands_called(s->body))
        if (std::find(all.begin(), all.end(), name) == all.end()) all.push_back(std::move(name));
    std::sort(all.begin(), all.end());
    return all;
  }

  redis::Client& client() { return *client_; }

  void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) override {
    std::vector<std::string> args = {tagged_hash(req.key_id, req.secret_hash), req.sealed_code, req.sealed_payload,
                                     std::to_string(req.ttl.count()), std::to_string(req.max_attempts),
                                     req.resend_same ? "1" : "0", flags(req.one_time, req.revoke_group)};
    append_gate(args, req.gate);
    eval(scripts::otp_issue, req.group, "or", std::move(args),
         [done = std::move(done)](Expected<Reply> raw) {
           auto r = shaped(std::move(raw), "oisiii", "otp_issue");
           if (!r) return done(std::move(r).error());
           const auto& e = r->elements;
           OtpIssueReply reply;
           reply.outcome = static_cast<Outcome>(e[0].integer);
           reply.retry_after = std::chrono::milliseconds(e[5].integer);
           reply.reused = e[1].integer == 1;
           reply.sealed_code = e[2].str;
           reply.expires_at = at(e[3].integer);
           reply.attempts_remaining = static_cast<int>(e[4].integer);
           done(std::move(reply));
         });
  }

  void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) override {
    const LockoutRule& l = req.lockout;
    std::vector<std::string> args = {std::to_string(l.failures), std::to_string(l.window.count()),
                                     std::to_string(l.duration.count()), std::to_string(l.max.count()),
                                     std::to_string(l.decay.count())};
    for (const SecretHash& c : req.candidates) args.push_back(tagged_hash(c.key_id, c.hash));
    eval(scripts::otp_verify, req.group, "otr", std::move(args),
         [done = std::move(done)](Expected<Reply> raw) {
           auto r = shaped(std::move(raw), "oiisii", "otp_verify");
           if (!r) return done(std::move(r).error());
           const auto& e = r->elements;
           VerifyReply reply;
           reply.outcome = static_cast<Outcome>(e[0].integer);
           reply.attempts_remaining = static_cast<int>(e[1].integer);
           reply.expires_at = at(e[2].integer);
           reply.sealed_payload = e[3].str;
           reply.retry_after = std::chrono::milliseconds(e[4].integer);
           reply.counted_failure = e[5].integer == 1;
           done(std::move(reply));
         });
  }

  void otp_revoke(const std::string& group, Callback<bool> done) override {
    eval(scripts::otp_revoke, group, "o", {}, [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(r->integer > 0);
    });
  }

  void token_issue(const TokenIssueRequest& req, Callback<TokenIssueReply> done) override {
    std::vector<std::string> args = {req.token_id, std::to_string(static_cast<int>(req.kind)), req.purpose_tag,
                                     flags(req.one_time, req.revoke_group), std::to_string(req.ttl.count()),
                                     req.sealed_identity, req.sealed_payload};
    append_gate(args, req.gate);
    args.push_back(std::to_string(req.max_active));
    args.push_back(req.refuse_when_full ? "1" : "0");
    eval(scripts::token_issue, req.group, "tr", std::move(args),
         [done = std::move(done)](Expected<Reply> raw) {
           auto r = shaped(std::move(raw), "oii", "token_issue");
           if (!r) return done(std::move(r).error());
           const auto& e = r->elements;
           TokenIssueReply reply;
           reply.outcome = static_cast<Outcome>(e[0].integer);
           reply.expires_at = at(e[1].integer);
           reply.retry_after = std::chrono::milliseconds(e[2].integer);
           done(std::move(reply));
         });
  }

  void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) override {
    eval(scripts::token_verify, req.group, "to",
         {req.token_id, std::to_string(static_cast<int>(req.kind)), req.purpose_tag, req.consume ? "1" : "0"},
         [done = std::move(done)](Expected<Reply> raw) {
           auto r = shaped(std::move(raw), "o", "token_verify");
           if (!r) return done(std::move(r).error());
           VerifyReply reply;
           reply.outcome = static_cast<Outcome>(r->elements[0].integer);
           if (reply.outcome != Outcome::not_found) {  // then the record's fields follow
             r = shaped(std::move(r), "oiss", "token_verify");
             if (!r) return done(std::move(r).error());
             const auto& e = r->elements;
             reply.expires_at = at(e[1].integer);
             reply.sealed_identity = e[2].str;
             reply.sealed_payload = e[3].str;
           }
           done(std::move(reply));
         });
  }

  void token_revoke(const std::string& group, const std::string& token_id, Callback<bool> done) override {
    eval(scripts::token_revoke, group, "t", {token_id}, [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(r->integer > 0);
    });
  }

  void revoke_all(const std::string& group, Callback<int> done) override {
    eval(scripts::revoke_all, group, "ot", {}, [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(static_cast<int>(r->integer));
    });
  }

  void inspect(const std::string& group, Callback<InspectReply> done) override {
    eval(scripts::inspect, group, "otr", {},
         [done = std::move(done)](Expected<Reply> raw) {
           auto r = shaped(std::move(raw), "iiiiiiiiiiii", "inspect");
           if (!r) return done(std::move(r).error());
           const auto& e = r->elements;
           InspectReply reply;
           reply.otp_live = e[0].integer == 1;
           reply.otp_attempts_remaining = static_cast<int>(e[1].integer);
           reply.otp_expires_at = at(e[2].integer);
           reply.active_tokens = static_cast<int>(e[3].integer);
           reply.now = at(e[4].integer);
           reply.rate = RateState{e[5].integer, e[6].integer, static_cast<int>(e[7].integer), e[8].integer,
                                  e[9].integer, static_cast<int>(e[10].integer), e[11].integer};
           done(std::move(reply));
         });
  }

  void unlock(const std::string& group, Callback<bool> done) override {
    eval(scripts::unlock, group, "r", {}, [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(r->integer == 1);
    });
  }

  void client_limit(const ClientLimitRequest& req, Callback<ClientLimitReply> done) override {
    eval(scripts::client_limit, "c:" + req.client, "c",
         {std::string(1, req.bucket), std::to_string(req.limit.interval.count()), std::to_string(req.limit.burst),
          req.refund ? "1" : "0"},
         [done = std::move(done)](Expected<Reply> raw) {
           auto r = shaped(std::move(raw), "ii", "client_limit");
           if (!r) return done(std::move(r).error());
           const auto& e = r->elements;
           done(ClientLimitReply{e[0].integer == 1, std::chrono::milliseconds(e[1].integer)});
         });
  }

  bool shared() const noexcept override { return true; }

 private:
  static constexpr const scripts::Script* kAll[] = {
      &scripts::otp_issue,    &scripts::otp_verify, &scripts::otp_revoke, &scripts::token_issue,
      &scripts::token_verify, &scripts::token_revoke, &scripts::revoke_all, &scripts::inspect,
      &scripts::unlock,       &scripts::client_limit};

  static void append_gate(std::vector<std::string>& args, const IssueGate& g) {
    args.push_back(std::to_string(g.cooldown.count()));
    args.push_back(std::to_string(g.send.interval.count()));
    args.push_back(std::to_string(g.send.burst));
    args.push_back(g.lock_blocks_issue ? "1" : "0");
  }

  static std::size_t index_of(const scripts::Script& s) {
    for (std::size_t i = 0; i < std::size(kAll); ++i)
      if (kAll[i] == &s) return i;
    return 0;
  }

  std::string key(const std::string& group, std::string_view suffix) const {
    std::string k;
    k.reserve(prefix_.size() + group.size() + suffix.size() + 4);
    k.append(prefix_).append(":{").append(group).append("}:").append(suffix);
    return k;
  }

  static std::string tagged_hash(std::uint8_t key_id, const std::string& hash) {
    std::string tagged;
    tagged.reserve(1 + hash.size());
    tagged.push_back(static_cast<char>(key_id));
    tagged.append(hash);
    return tagged;
  }

  static std::string flags(bool one_time, bool revoke_group) {
    return std::to_string((one_time ? 1 : 0) | (revoke_group ? 2 : 0));
  }

  // EVALSHA of a script on the keys `<prefix>:{group}:<suffix>`, one per character of
  // `suffixes`; on NOSCRIPT (a restart, SCRIPT FLUSH) the script did not run, so EVAL it whole.
  void eval(const scripts::Script& s, const std::string& group, std::string_view suffixes, std::vector<std::string> args,
            redis::ReplyCallback done) {
    // Kept for a NOSCRIPT retry: the keys, then the arguments.
    auto call = std::make_shared<std::vector<std::string>>();
    call->reserve(suffixes.size() + args.size());
    for (const char& suffix : suffixes) call->push_back(key(group, std::string_view(&suffix, 1)));
    for (auto& a : args) call->push_back(std::move(a));
    const std::size_t keys = suffixes.size();
    send("EVALSHA", shas_[index_of(s)], keys, *call,
         [this, call, script = &s, keys, done = std::move(done)](Expected<Reply> r) {
           if (r && r->is_error() && r->str.rfind("NOSCRIPT", 0) == 0)
             return send("EVAL", script->body, keys, *call, std::move(done));
           done(std::move(r));
         });
  }

  // `verb script keys rest...`, its argument table on the stack (scripts take a few dozen at most).
  void send(std::string_view verb, std::string_view script, std::size_t keys, const std::vector<std::string>& rest,
            redis::ReplyCallback done) {
    constexpr std::size_t kOnStack = 32;
    std::array<std::string_view, kOnStack> stack;
    std::vector<std::string_view> heap;
    std::span<std::string_view> argv(stack.data(), std::min(kOnStack, 3 + rest.size()));
    if (3 + rest.size() > kOnStack) {
      heap.resize(3 + rest.size());
      argv = heap;
    }
    char count[24];
    const auto end = std::to_chars(count, count + sizeof count, keys).ptr;
    argv[0] = verb;
    argv[1] = script;
    argv[2] = std::string_view(count, static_cast<std::size_t>(end - count));
    for (std::size_t i = 0; i < rest.size(); ++i) argv[3 + i] = rest[i];
    client_->command(std::span<const std::string_view>(argv), std::move(done));
  }

  std::unique_ptr<redis::Client> client_;
  std::string prefix_;
  std::string shas_[std::size(kAll)];
};

}  // namespace

Expected<std::shared_ptr<Store>> make_redis_store(const Config& config) {
  auto endpoint = redis::parse_endpoint(config.store_url, config.redis);
  if (!endpoint) return std::move(endpoint).error();
  auto warn = config.on_warning ? config.on_warning
                                : [](std::string_view w) { std::fprintf(stderr, "%.*s\n", static_cast<int>(w.size()), w.data()); };
  auto client = redis::Client::connect(*endpoint, warn);
  if (!client) return std::move(client).error();
  auto store = std::make_shared<RedisStore>(std::move(client).value(), config.key_prefix);
  detail::RedisRequirements needs;
  needs.allow_eviction = endpoint->options.allow_eviction;
  needs.probe_key = config.key_prefix + ":{verikit-preflight}:p";
  needs.script_commands = RedisStore::script_commands();
  if (auto s = detail::preflight(store->client(), needs, warn); !s) return std::move(s).error();
  if (auto s = store->load_scripts(); !s) return std::move(s).error();
  return std::shared_ptr<Store>(std::move(store));
}

}  // namespace verikit
