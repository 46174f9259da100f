// verikit — the Redis store: each operation is one FCALL of its function in verikit's library
// (or, where the server refuses FUNCTION LOAD, one EVALSHA of its script); a server without
// the function or script answers so without running anything, and the script is then sent
// whole by EVAL and runs (it cannot have run before, so this is no re-send). Replies are
// checked field by field: anything unexpected is a store_protocol error, never an outcome.
#include "verikit/redis_store.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "redis/link.hpp"
#include "redis/slot.hpp"
#include "store/redis_preflight.hpp"
#include "store/redis_scripts.hpp"
#include "verikit/process.hpp"
#include "verikit/small_vector.hpp"

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

// What the group's record cannot hold (redis_scripts.hpp: kRecord*), as the error that refuses
// it; nothing for a request that fits.
std::optional<Error> outside_record(const OtpIssueRequest& req) {
  auto too_long = [](std::string_view what, std::size_t size, std::size_t max) {
    return Error{Errc::invalid_argument, "the Redis store holds at most " + std::to_string(max) + " bytes of " +
                                             std::string(what) + " (" + std::to_string(size) + " given)"};
  };
  if (req.max_attempts < 1 || req.max_attempts > scripts::kRecordMaxAttempts)
    return Error{Errc::invalid_argument, "the Redis store holds 1 to " + std::to_string(scripts::kRecordMaxAttempts) +
                                             " attempts (" + std::to_string(req.max_attempts) + " given)"};
  if (1 + req.secret_hash.size() > scripts::kRecordShortBytes)
    return too_long("a secret hash with its key id", 1 + req.secret_hash.size(), scripts::kRecordShortBytes);
  if (req.sealed_code.size() > scripts::kRecordShortBytes)
    return too_long("sealed code", req.sealed_code.size(), scripts::kRecordShortBytes);
  if (req.payload_hash.size() > scripts::kRecordShortBytes)
    return too_long("payload hash", req.payload_hash.size(), scripts::kRecordShortBytes);
  if (req.binding_hash.size() > scripts::kRecordShortBytes)
    return too_long("binding hash", req.binding_hash.size(), scripts::kRecordShortBytes);
  if (req.sealed_payload.size() > scripts::kRecordPayloadBytes)
    return too_long("sealed payload", req.sealed_payload.size(), scripts::kRecordPayloadBytes);
  return std::nullopt;
}

// A packed reply (redis_scripts.hpp: packed_reply) as the array of its fields.
Expected<Reply> unpacked(const std::string& bytes, const scripts::Script& s) {
  Reply out;
  out.type = Reply::Type::array;
  out.elements.reserve(s.reply.size());
  std::size_t at = 0;
  auto take = [&](std::size_t n) -> const char* {
    if (bytes.size() - at < n) return nullptr;
    at += n;
    return bytes.data() + at - n;
  };
  for (const scripts::Field& f : s.reply) {
    Reply& e = out.elements.emplace_back();
    if (f.type == 's') {
      const char* len = take(4);
      std::uint32_t n = 0;
      for (int b = 0; len && b < 4; ++b) n |= std::uint32_t{static_cast<unsigned char>(len[b])} << (8 * b);
      const char* str = len ? take(n) : nullptr;
      if (!str) return protocol(std::string(s.name) + ": a packed reply cut short");
      e.type = Reply::Type::string;
      e.str.assign(str, n);
    } else {
      const char* num = take(8);
      if (!num) return protocol(std::string(s.name) + ": a packed reply cut short");
      std::uint64_t bits = 0;
      for (int b = 0; b < 8; ++b) bits |= std::uint64_t{static_cast<unsigned char>(num[b])} << (8 * b);
      const double d = std::bit_cast<double>(bits);
      if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != static_cast<double>(static_cast<long long>(d)))
        return protocol(std::string(s.name) + ": a packed reply's number is not an integer");
      e.type = Reply::Type::integer;
      e.integer = static_cast<long long>(d);
    }
  }
  if (at != bytes.size()) return protocol(std::string(s.name) + ": bytes after a packed reply");
  return out;
}

// A script's array reply, its first `count` elements checked against the descriptor's reply
// (elements past them are left to the caller). A packed reply is read into that array first.
Expected<Reply> shaped(Expected<Reply> raw, const scripts::Script& s, std::size_t count) {
  if (s.packed_reply) {
    auto packed = checked(std::move(raw), Reply::Type::string);
    if (!packed) return packed;
    raw = unpacked(packed->str, s);
  }
  auto r = checked(std::move(raw), Reply::Type::array, count);
  if (!r) return r;
  for (std::size_t i = 0; i < count; ++i) {
    const Reply& e = r->elements[i];
    const char type = s.reply[i].type;
    if (type == 'o') {
      if (auto o = outcome_of(e); !o) return std::move(o).error();
    } else if (type == 'i' ? !is_int(e) : !is_str(e)) {
      return protocol(s.name);
    }
  }
  return r;
}

// A name as a template argument: set<"ttl_ms">(...), integer<"retry_ms">().
template <std::size_t N>
struct Name {
  char s[N];
  consteval Name(const char (&v)[N]) {
    for (std::size_t i = 0; i < N; ++i) s[i] = v[i];
  }
  constexpr std::string_view view() const { return {s, N - 1}; }
};

// The keys and arguments of one script call, each a span of one buffer: what an Argv shows to
// the link, and what a NOSCRIPT retry shows again. (One buffer for all of them, not a string
// each; a std::vector, so that moving it into the call's callback keeps the bytes where they are.)
struct Args {
  struct Span {
    std::uint32_t at = 0, size = 0;
  };
  std::vector<char> bytes;
  SmallVector<Span, 24> spans;  // the keys, then the arguments
  std::string_view operator[](std::size_t i) const noexcept { return {bytes.data() + spans[i].at, spans[i].size}; }
  std::size_t size() const noexcept { return spans.size(); }
};

// `verb script numkeys` and a call's keys and arguments, as views (a table on the stack: scripts
// take a few dozen arguments at most).
class Argv {
 public:
  Argv(std::string_view verb, std::string_view script, std::size_t keys, const Args& args) {
    const std::size_t n = 3 + args.size();
    if (n > stack_.size()) heap_.resize(n);
    std::string_view* v = n > stack_.size() ? heap_.data() : stack_.data();
    const auto end = std::to_chars(count_, count_ + sizeof count_, keys).ptr;
    v[0] = verb;
    v[1] = script;
    v[2] = std::string_view(count_, static_cast<std::size_t>(end - count_));
    for (std::size_t i = 0; i < args.size(); ++i) v[3 + i] = args[i];
    view_ = std::span<const std::string_view>(v, n);
  }
  Argv(const Argv&) = delete;  // (its views include its own count_)
  Argv& operator=(const Argv&) = delete;
  std::span<const std::string_view> view() const noexcept { return view_; }

 private:
  std::array<std::string_view, 32> stack_;
  std::vector<std::string_view> heap_;
  char count_[24];
  std::span<const std::string_view> view_;
};

// The keys and arguments of one call of script S, each argument set by its descriptor name (a
// name S does not have does not compile); the store refuses a call with an argument left unset.
// Values are copied into the call's buffer as they are set; args() adds the keys and the
// argument "packed" (the numbers, then the packed strings, see redis_scripts.hpp).
template <const scripts::Script& S>
class Call {
 public:
  static_assert(S.args.size() <= 32 && S.numbers.size() <= 32 && S.strings.size() <= 32);
  // (Room for most calls at once; args() makes room for the rest.)
  Call() { bytes_.reserve(384); }

  // A number, into the argument "packed" (redis_scripts.hpp: a little-endian IEEE 754 double,
  // exact for every integer the store sends: they are within 2^53).
  template <Name name>
  Call& number(long long value) {
    constexpr std::size_t i = S.number(name.view());
    const auto bits = std::bit_cast<std::uint64_t>(static_cast<double>(value));
    for (int b = 0; b < 8; ++b) numbers_[8 * i + b] = static_cast<char>(bits >> (8 * b));
    numbers_set_ |= std::uint32_t{1} << i;
    return *this;
  }

  // An argument, or one of the strings packed into "packed" after the numbers.
  template <Name name>
  Call& set(std::string_view value) {
    return set_span<name>(append(value));
  }
  // The same for a secret hash as the scripts compare it: its key's id (one byte), then the hash.
  template <Name name>
  Call& set_tagged(std::uint8_t key_id, std::string_view hash) {
    return set_span<name>(append_tagged(key_id, hash));
  }
  // An argument past the named ones (scripts whose descriptor has more_args), a tagged hash.
  Call& more_tagged(std::uint8_t key_id, std::string_view hash) {
    static_assert(S.more_args);
    more_.push_back(append_tagged(key_id, hash));
    return *this;
  }
  bool complete() const noexcept {
    return (set_ | kPackedBit) == all(S.args.size()) && numbers_set_ == all(S.numbers.size()) &&
           strings_set_ == all(S.strings.size());
  }
  // The keys `<prefix>:{group}:<suffix>` (the descriptor's suffixes), the arguments in the
  // descriptor's order with "packed" made, then the further ones. Called once: it moves the
  // buffer out.
  Args args(std::string_view prefix, std::string_view group) {
    if (taken_) throw std::logic_error("verikit bug: a script call's arguments taken twice");
    taken_ = true;
    std::size_t size = bytes_.size() + S.keys.size() * (prefix.size() + group.size() + 5);
    if constexpr (kPacked) {
      size += numbers_.size();
      for (const Args::Span& v : strings_) size += 4 + v.size;
    }
    bytes_.reserve(size);
    Args out;
    for (std::size_t i = 0; i < S.keys.size(); ++i) {
      const auto at = bytes_.size();
      for (std::string_view part : {prefix, std::string_view(":{"), group, std::string_view("}:")})
        bytes_.insert(bytes_.end(), part.begin(), part.end());
      bytes_.push_back(S.keys[i]);
      out.spans.push_back(span_from(at));
    }
    if constexpr (kPacked) {
      const auto at = bytes_.size();
      bytes_.insert(bytes_.end(), numbers_.begin(), numbers_.end());
      for (const Args::Span& v : strings_) {
        for (int b = 0; b < 4; ++b) bytes_.push_back(static_cast<char>(v.size >> (8 * b)));
        const std::size_t to = bytes_.size();  // (a copy from this buffer into itself: insert may not)
        bytes_.resize(to + v.size);
        if (v.size > 0) std::memcpy(bytes_.data() + to, bytes_.data() + v.at, v.size);
      }
      args_[S.arg("packed")] = span_from(at);
    }
    for (const Args::Span& a : args_) out.spans.push_back(a);
    for (const Args::Span& a : more_) out.spans.push_back(a);
    out.bytes = std::move(bytes_);
    return out;
  }

 private:
  static constexpr bool kPacked = !S.numbers.empty() || !S.strings.empty();
  static constexpr std::uint32_t all(std::size_t n) { return n == 32 ? ~std::uint32_t{0} : (std::uint32_t{1} << n) - 1; }
  static consteval std::uint32_t packed_bit() {
    if constexpr (kPacked) return std::uint32_t{1} << S.arg("packed");
    return 0;
  }
  static constexpr std::uint32_t kPackedBit = packed_bit();  // ("packed" is made by args())

  Args::Span span_from(std::size_t at) const {
    if (bytes_.size() > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("verikit: a script call of over 4 GiB");
    return {static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(bytes_.size() - at)};
  }
  Args::Span append(std::string_view value) {
    const auto at = bytes_.size();
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    return span_from(at);
  }
  Args::Span append_tagged(std::uint8_t key_id, std::string_view hash) {
    const auto at = bytes_.size();
    bytes_.push_back(static_cast<char>(key_id));
    bytes_.insert(bytes_.end(), hash.begin(), hash.end());
    return span_from(at);
  }
  template <Name name>
  Call& set_span(Args::Span v) {
    constexpr std::size_t p = S.packed_string(name.view());
    if constexpr (p < S.strings.size()) {
      strings_[p] = v;
      strings_set_ |= std::uint32_t{1} << p;
    } else {
      constexpr std::size_t i = S.arg(name.view());
      static_assert(((std::uint32_t{1} << i) & kPackedBit) == 0, "\"packed\" is made of the numbers and strings");
      args_[i] = v;
      set_ |= std::uint32_t{1} << i;
    }
    return *this;
  }

  std::vector<char> bytes_;
  std::array<Args::Span, S.args.size()> args_{};
  std::array<Args::Span, S.strings.size()> strings_{};
  std::array<char, 8 * S.numbers.size()> numbers_{};
  SmallVector<Args::Span, 4> more_;
  std::uint32_t set_ = 0, numbers_set_ = 0, strings_set_ = 0;
  bool taken_ = false;
};

// A checked array reply of script S, read by the descriptor's element names and types.
template <const scripts::Script& S>
class ReplyOf {
 public:
  explicit ReplyOf(const Reply& r) : e_(r.elements) {}
  template <Name name>
  long long integer() const {
    constexpr std::size_t i = S.at(name.view());
    static_assert(S.reply[i].type == 'i');
    return e_[i].integer;
  }
  template <Name name>
  Outcome outcome() const {
    constexpr std::size_t i = S.at(name.view());
    static_assert(S.reply[i].type == 'o');
    return static_cast<Outcome>(e_[i].integer);
  }
  template <Name name>
  const std::string& str() const {
    constexpr std::size_t i = S.at(name.view());
    static_assert(S.reply[i].type == 's');
    return e_[i].str;
  }

 private:
  const std::vector<Reply>& e_;
};

// A key of verikit's key space on a server that serves `slots` (defined below).
std::string probe_key(const std::string& prefix, std::span<const redis::SlotRange> slots);

// The completion of a script answering status, retry_ms and counted (totp_commit, totp_confirm).
template <const scripts::Script& S>
auto counted_reply(Callback<VerifyReply> done) {
  return [done = std::move(done)](Expected<Reply> raw, int replicas) {
    auto r = shaped(std::move(raw), S, S.reply_always);
    if (!r) return done(std::move(r).error());
    const ReplyOf<S> e(*r);
    VerifyReply reply;
    reply.outcome = e.template outcome<"status">();
    reply.retry_after = std::chrono::milliseconds(e.template integer<"retry_ms">());
    reply.counted_failure = e.template integer<"counted">() == 1;
    reply.replicas_confirmed = replicas;
    done(std::move(reply));
  };
}

class RedisStore final : public Store {
 public:
  RedisStore(std::unique_ptr<redis::Link> client, redis::Warn warn, std::string prefix, int wait_replicas,
             std::chrono::milliseconds wait_timeout)
      : client_(std::move(client)), live_(client_.get()), warn_(std::move(warn)), prefix_(std::move(prefix)),
        wait_replicas_(wait_replicas), wait_timeout_(wait_timeout) {}

  // SCRIPT LOAD on every primary (the script cache is per server; a NOSCRIPT later, after a
  // restart or a failover, is answered by EVAL of the whole script on that server).
  Status load_scripts() {
    return client_->each_primary([this](redis::Client& node, std::span<const redis::SlotRange>) -> Status {
      for (const scripts::Script* s : scripts::kAll) {
        auto r = checked(node.command_sync({"SCRIPT", "LOAD", scripts::text(*s)}), Reply::Type::string);
        if (!r) return Error{r.error().code, "loading script " + std::string(s->name) + ": " + r.error().message};
        shas_[s->id] = r->str;
      }
      return Unit{};
    });
  }

  // FUNCTION LOAD of the scripts' library on every primary (and on each new primary, see
  // make_redis_store), then one FCALL of a read-only function there (an ACL may allow the one
  // and not the other). Where the server refuses either (an ACL without them, a managed service
  // that disallows them), the scripts run by EVALSHA as before: same text, same results.
  Status load_functions() {
    return client_->each_primary([this](redis::Client& node, std::span<const redis::SlotRange> slots) {
      return load_library(node, probe_key(prefix_, slots));
    });
  }
  static Status load_library(redis::Client& node, const std::string& probe) {
    auto r = checked(node.command_sync({"FUNCTION", "LOAD", "REPLACE", scripts::library()}), Reply::Type::string);
    if (!r) return Error{r.error().code, "loading the function library " + scripts::library_name() + ": " + r.error().message};
    const std::string t = probe.substr(0, probe.size() - 1) + "t";  // the probe key's group: {...}:g and {...}:t
    const std::string g = probe.substr(0, probe.size() - 1) + "g";
    auto call = checked(node.command_sync({"FCALL", scripts::function_name(scripts::inspect), "2", g, t}),
                        Reply::Type::array);
    if (!call) return Error{call.error().code, "calling the function library: " + call.error().message};
    return Unit{};
  }
  void use_functions(bool on) { functions_.store(on, std::memory_order_relaxed); }
  bool uses_functions() const noexcept { return functions_.load(std::memory_order_relaxed); }

  // Every command the scripts call, for the start-up permission check.
  static std::vector<std::string> script_commands() {
    std::vector<std::string> all;
    for (const scripts::Script* s : scripts::kAll)
      for (auto& name : detail::commands_called(scripts::text(*s)))
        if (std::find(all.begin(), all.end(), name) == all.end()) all.push_back(std::move(name));
    std::sort(all.begin(), all.end());
    return all;
  }

  redis::Link& link() { return *live_.load(std::memory_order_acquire); }
  // Remembered for the links a forked child makes (see own_link).
  void set_new_primary_check(redis::Link::PrimaryCheck check) {
    new_primary_check_ = check;
    link().set_new_primary_check(std::move(check));
  }

  bool waiting_would_deadlock() const noexcept override {
    // Any store's I/O thread, this link's included, in this process (a forked child's copy of one
    // is not): see detail::on_store_io_thread.
    return detail::on_store_io_thread();
  }
  // (In a forked child that has not used the store, the link's stop only forgets the parent's threads.)
  void stop_threads() noexcept override { link().stop(); }

  void otp_issue(const OtpIssueRequest& req, Callback<OtpIssueReply> done) override {
    static constexpr const scripts::Script& S = scripts::otp_issue;
    if (auto refused = outside_record(req)) return done(std::move(*refused));
    Call<S> call;
    call.set_tagged<"code_hash">(req.key_id, req.secret_hash)
        .set<"sealed_code">(req.sealed_code)
        .set<"sealed_payload">(req.sealed_payload)
        .set<"payload_hash">(req.payload_hash)
        .set<"binding">(req.binding_hash)
        .number<"ttl_ms">(req.ttl.count())
        .number<"max_attempts">(req.max_attempts)
        .number<"resend_same">(req.resend_same ? 1 : 0)
        .number<"flags">(flags(req.one_time, req.revoke_group));
    set_gate(call, req.gate);
    eval(call, req.group, [done = std::move(done)](Expected<Reply> raw) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      OtpIssueReply reply;
      reply.outcome = e.outcome<"status">();
      reply.retry_after = std::chrono::milliseconds(e.integer<"retry_ms">());
      reply.reused = e.integer<"reused">() == 1;
      reply.sealed_code = e.str<"sealed_code">();
      reply.expires_at = at(e.integer<"expires">());
      reply.attempts_remaining = static_cast<int>(e.integer<"attempts">());
      done(std::move(reply));
    });
  }

  void otp_verify(const OtpVerifyRequest& req, Callback<VerifyReply> done) override {
    static constexpr const scripts::Script& S = scripts::otp_verify;
    const FailureBudget& b = req.budget;
    Call<S> call;
    call.number<"budget_interval_ms">(b.identifier.interval.count())
        .number<"budget_burst">(b.identifier.burst)
        .number<"pair_interval_ms">(b.pair.interval.count())
        .number<"pair_burst">(b.pair.burst)
        .set<"client">(b.client)
        .set<"binding">(req.binding_hash);
    for (const SecretHash& c : req.candidates) call.more_tagged(c.key_id, c.hash);
    eval_durable(call, req.group, true, [done = std::move(done)](Expected<Reply> raw, int replicas) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      VerifyReply reply;
      reply.outcome = e.outcome<"status">();
      reply.attempts_remaining = static_cast<int>(e.integer<"attempts">());
      reply.expires_at = at(e.integer<"expires">());
      reply.sealed_payload = e.str<"payload">();
      reply.retry_after = std::chrono::milliseconds(e.integer<"retry_ms">());
      reply.counted_failure = e.integer<"counted">() == 1;
      reply.replicas_confirmed = replicas;
      done(std::move(reply));
    });
  }

  void otp_revoke(const std::string& group, Callback<bool> done) override {
    Call<scripts::otp_revoke> call;
    eval_confirmed(call, group, [done = std::move(done)](Expected<long long> n) {
      if (!n) return done(std::move(n).error());
      done(*n > 0);
    });
  }

  void token_issue(const TokenIssueRequest& req, Callback<TokenIssueReply> done) override {
    static constexpr const scripts::Script& S = scripts::token_issue;
    Call<S> call;
    call.set<"id">(req.token_id)
        .set<"purpose_tag">(req.purpose_tag)
        .set<"sealed_identity">(req.sealed_identity)
        .set<"sealed_payload">(req.sealed_payload)
        .set<"binding">(req.binding_hash)
        .number<"kind">(static_cast<int>(req.kind))
        .number<"flags">(flags(req.one_time, req.revoke_group))
        .number<"ttl_ms">(req.ttl.count())
        .number<"max_active">(req.max_active)
        .number<"refuse">(req.refuse_when_full ? 1 : 0);
    set_gate(call, req.gate);
    eval(call, req.group, [done = std::move(done)](Expected<Reply> raw) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      TokenIssueReply reply;
      reply.outcome = e.outcome<"status">();
      reply.expires_at = at(e.integer<"expires">());
      reply.retry_after = std::chrono::milliseconds(e.integer<"retry_ms">());
      done(std::move(reply));
    });
  }

  void token_verify(const TokenVerifyRequest& req, Callback<VerifyReply> done) override {
    if (req.consume && !req.binding_hash.empty()) return token_verify_bound(req, std::move(done));
    static constexpr const scripts::Script& S = scripts::token_verify;
    Call<S> call;
    call.set<"id">(req.token_id)
        .set<"kind">(std::to_string(static_cast<int>(req.kind)))
        .set<"purpose_tag">(req.purpose_tag)
        .set<"consume">(req.consume ? "1" : "0");
    eval_durable(call, req.group, req.consume, [done = std::move(done)](Expected<Reply> raw, int replicas) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      VerifyReply reply;
      reply.replicas_confirmed = replicas;
      reply.outcome = ReplyOf<S>(*r).outcome<"status">();
      if (reply.outcome != Outcome::not_found) {  // then the record's fields follow
        r = shaped(std::move(r), S, S.reply.size());
        if (!r) return done(std::move(r).error());
        const ReplyOf<S> e(*r);
        reply.expires_at = at(e.integer<"expires">());
        reply.sealed_identity = e.str<"sealed_identity">();
        reply.sealed_payload = e.str<"sealed_payload">();
      }
      done(std::move(reply));
    });
  }

  // A consume with a flow binding presented: one script checks the binding, counts a mismatch
  // and uses the token, atomically.
  void token_verify_bound(const TokenVerifyRequest& req, Callback<VerifyReply> done) {
    static constexpr const scripts::Script& S = scripts::token_verify_bound;
    Call<S> call;
    call.set<"id">(req.token_id)
        .set<"kind">(std::to_string(static_cast<int>(req.kind)))
        .set<"purpose_tag">(req.purpose_tag)
        .set<"binding">(req.binding_hash)
        .set<"budget_interval_ms">(std::to_string(req.budget.interval.count()))
        .set<"budget_burst">(std::to_string(req.budget.burst));
    eval_durable(call, req.group, true, [done = std::move(done)](Expected<Reply> raw, int replicas) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      VerifyReply reply;
      reply.replicas_confirmed = replicas;
      reply.outcome = e.outcome<"status">();
      reply.retry_after = std::chrono::milliseconds(e.integer<"retry_ms">());
      reply.counted_failure = e.integer<"counted">() == 1;
      if (reply.outcome == Outcome::verified) {
        reply.expires_at = at(e.integer<"expires">());
        reply.sealed_identity = e.str<"sealed_identity">();
        reply.sealed_payload = e.str<"sealed_payload">();
      }
      done(std::move(reply));
    });
  }

  void token_revoke(const std::string& group, const std::string& token_id, Callback<bool> done) override {
    Call<scripts::token_revoke> call;
    call.set<"id">(token_id);
    eval_confirmed(call, group, [done = std::move(done)](Expected<long long> n) {
      if (!n) return done(std::move(n).error());
      done(*n > 0);
    });
  }

  void revoke_all(const std::string& group, Callback<int> done) override {
    Call<scripts::revoke_all> call;
    eval_confirmed(call, group, [done = std::move(done)](Expected<long long> n) {
      if (!n) return done(std::move(n).error());
      done(static_cast<int>(*n));
    });
  }

  void inspect(const std::string& group, Callback<InspectReply> done) override {
    static constexpr const scripts::Script& S = scripts::inspect;
    Call<S> call;
    eval(call, group, [done = std::move(done)](Expected<Reply> raw) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      InspectReply reply;
      reply.otp_live = e.integer<"otp_live">() == 1;
      reply.otp_attempts_remaining = static_cast<int>(e.integer<"attempts">());
      reply.otp_expires_at = at(e.integer<"otp_expires">());
      reply.active_tokens = static_cast<int>(e.integer<"live_tokens">());
      reply.now = at(e.integer<"now">());
      reply.rate = RateState{e.integer<"cd">(), e.integer<"tat">(), e.integer<"ft">()};
      done(std::move(reply));
    });
  }

  void unlock(const std::string& group, const GcraLimit& budget, Callback<bool> done) override {
    Call<scripts::unlock> call;
    call.set<"budget_interval_ms">(std::to_string(budget.interval.count()))
        .set<"budget_burst">(std::to_string(budget.burst));
    eval(call, group, [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(r->integer == 1);
    });
  }

  void client_limit(const ClientLimitRequest& req, Callback<ClientLimitReply> done) override {
    static constexpr const scripts::Script& S = scripts::client_limit;
    Call<S> call;
    call.set<"bucket">(std::string(1, req.bucket))
        .set<"interval_ms">(std::to_string(req.limit.interval.count()))
        .set<"burst">(std::to_string(req.limit.burst))
        .set<"refund">(req.refund ? "1" : "0");
    eval(call, "c:" + req.client, [done = std::move(done)](Expected<Reply> raw) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      done(ClientLimitReply{e.integer<"allowed">() == 1, std::chrono::milliseconds(e.integer<"retry_ms">())});
    });
  }

  // A new set of recovery codes and an enrollment replace what the user had: with durability
  // they wait like a verification and say how many replicas acknowledged (a failover before
  // they did could bring the old ones back), and are shown to the user whatever the count: by
  // then they are the user's on the primary (failing them would leave the user with neither).
  void recovery_set(const RecoverySetRequest& req, Callback<WriteReply> done) override {
    Call<scripts::recovery_set> call;
    call.set<"ttl_ms">(std::to_string(req.ttl.count()));
    for (const SecretHash& c : req.codes) call.more_tagged(c.key_id, c.hash);
    eval_durable(call, req.group, true, written(std::move(done)), false);
  }

  void recovery_use(const RecoveryUseRequest& req, Callback<VerifyReply> done) override {
    static constexpr const scripts::Script& S = scripts::recovery_use;
    const FailureBudget& b = req.budget;
    Call<S> call;
    call.set<"budget_interval_ms">(std::to_string(b.identifier.interval.count()))
        .set<"budget_burst">(std::to_string(b.identifier.burst))
        .set<"pair_interval_ms">(std::to_string(b.pair.interval.count()))
        .set<"pair_burst">(std::to_string(b.pair.burst))
        .set<"client">(b.client);
    for (const SecretHash& c : req.candidates) call.more_tagged(c.key_id, c.hash);
    eval_durable(call, req.group, true, [done = std::move(done)](Expected<Reply> raw, int replicas) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      VerifyReply reply;
      reply.outcome = e.outcome<"status">();
      reply.attempts_remaining = static_cast<int>(e.integer<"left">());
      reply.retry_after = std::chrono::milliseconds(e.integer<"retry_ms">());
      reply.counted_failure = e.integer<"counted">() == 1;
      reply.replicas_confirmed = replicas;
      done(std::move(reply));
    });
  }

  void recovery_count(const std::string& group, Callback<int> done) override {
    Call<scripts::recovery_count> call;
    eval(call, group, [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(static_cast<int>(r->integer));
    });
  }

  void key_check(const std::string& tag, bool create, Callback<KeyCheck> done) override {
    static constexpr long long kKeyCheckTtlMs = 5LL * 365 * 24 * 3600 * 1000;
    Call<scripts::key_check> call;
    call.set<"tag">(tag).set<"create">(create ? "1" : "0").set<"ttl_ms">(std::to_string(kKeyCheckTtlMs));
    // lua/key_check.lua answers 0..3 in KeyCheck's order (the descriptor in redis_scripts.hpp)
    static_assert(static_cast<int>(KeyCheck::matched) == 0 && static_cast<int>(KeyCheck::created) == 1 &&
                  static_cast<int>(KeyCheck::absent) == 2 && static_cast<int>(KeyCheck::mismatch) == 3);
    eval(call, "key-check", [done = std::move(done)](Expected<Reply> raw) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      if (r->integer < 0 || r->integer > 3)
        return done(make_error(Errc::store_protocol, "key check: unexpected reply " + std::to_string(r->integer)));
      done(static_cast<KeyCheck>(r->integer));
    });
  }

  void second_factors_revoke(const SecondFactorsRevokeRequest& req, Callback<int> done) override {
    Call<scripts::second_factors_revoke> call;
    call.set<"tombstone_generation">(std::to_string(req.tombstone_generation))
        .set<"tombstone_ttl_ms">(std::to_string(req.tombstone_ttl.count()));
    eval_confirmed(call, req.group, [done = std::move(done)](Expected<long long> n) {
      if (!n) return done(std::move(n).error());
      done(static_cast<int>(*n));
    });
  }

  void totp_enroll(const TotpEnrollRequest& req, Callback<WriteReply> done) override {
    Call<scripts::totp_enroll> call;
    call.set<"sealed_secret">(req.sealed_secret)
        .set<"generation">(std::to_string(req.generation))
        .set<"ttl_ms">(std::to_string(req.ttl.count()));
    eval_durable(call, req.group, true, written(std::move(done)), false);
  }

  static std::function<void(Expected<Reply>, int)> written(Callback<WriteReply> done) {
    return [done = std::move(done)](Expected<Reply> raw, int replicas) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(std::move(r).error());
      done(WriteReply{static_cast<int>(r->integer), replicas});
    };
  }

  void totp_load(const std::string& group, const FailureBudget& budget, Callback<TotpLoadReply> done) override {
    static constexpr const scripts::Script& S = scripts::totp_load;
    Call<S> call;
    set_budget(call, budget);
    eval(call, group, [done = std::move(done)](Expected<Reply> raw) {
      auto r = shaped(std::move(raw), S, S.reply_always);
      if (!r) return done(std::move(r).error());
      const ReplyOf<S> e(*r);
      TotpLoadReply reply;
      reply.outcome = e.outcome<"status">();
      reply.sealed_secret = e.str<"sealed_secret">();
      reply.last_step = e.integer<"last_step">();
      reply.generation = e.integer<"generation">();
      reply.now_ms = e.integer<"now">();
      reply.retry_after = std::chrono::milliseconds(e.integer<"retry_ms">());
      done(std::move(reply));
    });
  }

  void totp_confirm(const TotpConfirmRequest& req, Callback<VerifyReply> done) override {
    static constexpr const scripts::Script& S = scripts::totp_confirm;
    Call<S> call;
    set_budget(call, req.budget);
    call.set<"sealed_secret">(req.sealed_secret)
        .set<"step">(std::to_string(req.step))
        .set<"expires_ms">(std::to_string(req.expires_ms))
        .set<"expect_generation">(std::to_string(req.expect_generation))
        .set<"generation">(std::to_string(req.generation))
        .set<"ttl_ms">(std::to_string(req.ttl.count()));
    eval_durable(call, req.group, true, counted_reply<S>(std::move(done)));
  }

  void totp_commit(const TotpCommitRequest& req, Callback<VerifyReply> done) override {
    static constexpr const scripts::Script& S = scripts::totp_commit;
    Call<S> call;
    set_budget(call, req.budget);
    call.set<"step">(std::to_string(req.step)).set<"generation">(std::to_string(req.generation));
    eval_durable(call, req.group, true, counted_reply<S>(std::move(done)));
  }

  bool shared() const noexcept override { return true; }

 private:
  template <const scripts::Script& S>
  static void set_budget(Call<S>& call, const FailureBudget& b) {
    call.template set<"budget_interval_ms">(std::to_string(b.identifier.interval.count()))
        .template set<"budget_burst">(std::to_string(b.identifier.burst))
        .template set<"pair_interval_ms">(std::to_string(b.pair.interval.count()))
        .template set<"pair_burst">(std::to_string(b.pair.burst))
        .template set<"client">(b.client);
  }

  template <const scripts::Script& S>
  static void set_gate(Call<S>& call, const IssueGate& g) {
    call.template number<"gate_cooldown_ms">(g.cooldown.count())
        .template number<"gate_send_interval_ms">(g.send.interval.count())
        .template number<"gate_send_burst">(g.send.burst)
        .template number<"gate_lock_blocks_issue">(g.lock_blocks_issue ? 1 : 0)
        .template number<"gate_failure_interval_ms">(g.failures.interval.count())
        .template number<"gate_failure_burst">(g.failures.burst);
  }

  static int flags(bool one_time, bool revoke_group) { return (one_time ? 1 : 0) | (revoke_group ? 2 : 0); }

  // EVALSHA of script S on its keys `<prefix>:{group}:<suffix>` (the descriptor's suffixes) and
  // the call's arguments; on NOSCRIPT (a restart, SCRIPT FLUSH) the script did not run, so EVAL
  // it whole. A call with an argument left unset is a bug: an internal error, nothing is sent.
  // (`done` is any callable of an Expected<Reply>: kept in the one callback this makes, not in a
  // std::function of its own.)
  template <const scripts::Script& S, class F>
  void eval(Call<S>& c, const std::string& group, F done, std::chrono::milliseconds then_wait = kNoWait) {
    if (!c.complete())
      return done(make_error(Errc::internal, "verikit bug: script " + std::string(S.name) + " called without all of "
                                             "its arguments"));
    // Kept for a NOSCRIPT retry (in the callback): the keys, then the arguments. The views of
    // `argv` stay valid when `args` moves into the callback (a vector's elements do not move).
    Args args = c.args(prefix_, group);
    const bool fcall = uses_functions();
    const Argv argv(fcall ? "FCALL" : "EVALSHA", fcall ? std::string_view(scripts::function_name(S)) : shas_[S.id],
                    S.keys.size(), args);
    send(argv, then_wait, [this, args = std::move(args), then_wait, done = std::move(done)](Expected<Reply> r) mutable {
      const Reply* script = r && then_wait != kNoWait && r->type == Reply::Type::array && !r->elements.empty() ? &r->elements[0]
                            : r                                                                   ? &*r
                                                                                                  : nullptr;
      // Neither ran anything: the server lacks the script (a restart, SCRIPT FLUSH) or the
      // library (FUNCTION FLUSH, a restart without persistence). EVAL puts the script in the
      // server's cache again; the library cannot be reloaded from here (this is the I/O thread,
      // and a keyless command would not reach that server of a cluster), so from now on every
      // call goes by EVALSHA, which that cache serves, and this says so once.
      if (script && script->is_error() && script->str.rfind("ERR Function not found", 0) == 0 &&
          functions_.exchange(false, std::memory_order_relaxed) && warn_)
        warn_("verikit: a Redis server has lost verikit's function library (FUNCTION FLUSH, or a restart without "
              "persistence): the scripts run by EVALSHA from now on (about 10% more of Redis's CPU per operation); "
              "restart the application to load the library again");
      if (script && script->is_error() &&
          (script->str.rfind("NOSCRIPT", 0) == 0 || script->str.rfind("ERR Function not found", 0) == 0))
        return send(Argv("EVAL", scripts::text(S), S.keys.size(), args), then_wait, std::move(done));
      done(std::move(r));
    });
  }

  // eval(), followed by WAIT on the same connection when durability is on and `durable`: `done`
  // gets the script's reply and how many replicas acknowledged it (-1 when no WAIT was asked).
  //
  // A replica that stopped acknowledging: WAIT holds its connection for the whole wait_timeout,
  // and every request pipelined behind it waits too (with one replica stopped, 64 verifications
  // in flight gave 41 timeouts and an unrelated issue timed out: found by a review). So once a
  // WAIT got fewer than N acknowledgements, the WAITs of the next second wait at most
  // kShortWait (each answer still says how many acknowledged: honest, at worst low), then one
  // waits the whole wait_timeout again to see whether the replicas are back; any WAIT that gets
  // N ends this at once. Requests already pipelined behind the first short WAIT keep the
  // timeout they were sent with.
  // (`may_shorten` false: always the whole wait, for writes whose shortfall is an error or that
  // replace a second factor: rare, and a healthy but slow replica must not read as absent.)
  template <const scripts::Script& S, class F>
  void eval_durable(Call<S>& c, const std::string& group, bool durable, F done, bool may_shorten = true) {
    if (!durable || wait_replicas_ <= 0)
      return eval(c, group, [done = std::move(done)](Expected<Reply> r) { done(std::move(r), -1); });
    const long long now = steady_ms();
    const bool shortened = may_shorten && now < short_waits_until_.load(std::memory_order_relaxed);
    const auto wait = shortened ? std::min(kShortWait, wait_timeout_) : wait_timeout_;
    eval(c, group, [this, shortened, may_shorten, done = std::move(done)](Expected<Reply> r) {
      if (!r) return done(std::move(r), -1);
      if (r->type != Reply::Type::array || r->elements.size() != 2 || r->elements[1].type != Reply::Type::integer) {
        // (The script's reply is first: it ran, so a code may be used; WAIT's own error, such
        // as a NOPERM after an ACL change, says why the count is missing.)
        const Reply* w = r->type == Reply::Type::array && r->elements.size() == 2 ? &r->elements[1] : nullptr;
        const bool refused = w != nullptr && w->is_error();
        return done(make_error(Errc::store_protocol,
                               "Redis ran the script but did not answer its WAIT" +
                                   (refused ? " (" + w->str + ")" : std::string()) +
                                   ": the operation may have taken effect" +
                                   (refused && w->str.rfind("NOPERM", 0) == 0 ? " (wait_replicas needs +wait in the ACL)"
                                                                              : std::string())),
                    -1);
      }
      const int replicas = static_cast<int>(r->elements[1].integer);
      if (replicas >= wait_replicas_) short_waits_until_.store(0, std::memory_order_relaxed);
      else if (!shortened && may_shorten) short_waits_until_.store(steady_ms() + 1000, std::memory_order_relaxed);
      done(std::move(r->elements[0]), replicas);
    }, wait);
  }

  // A revocation, whose answer is a flag or a count and cannot say how many replicas
  // acknowledged it, through eval_durable like a verification (the whole wait): with durability
  // on, one that changed something and was acknowledged by fewer than N replicas fails with
  // Errc::timeout. It took effect on the primary, and a failover now could undo it: a revoked
  // link or code working again (found by a review, which did it).
  template <const scripts::Script& S, class F>
  void eval_confirmed(Call<S>& c, const std::string& group, F done) {
    eval_durable(c, group, true, [this, done = std::move(done)](Expected<Reply> raw, int replicas) {
      auto r = checked(std::move(raw), Reply::Type::integer);
      if (!r) return done(Expected<long long>(std::move(r).error()));
      if (r->integer > 0 && replicas >= 0 && replicas < wait_replicas_)
        return done(Expected<long long>(make_error(
            Errc::timeout, std::string(S.name) + " took effect on the Redis primary, but " + std::to_string(replicas) +
                               " of the " + std::to_string(wait_replicas_) +
                               " replicas asked for (wait_replicas) acknowledged it in time: a failover now could "
                               "undo it. Repeat it once the replicas acknowledge again (INFO replication on the "
                               "primary): a repeat while they are away may answer as if nothing were left to do")));
      done(Expected<long long>(r->integer));
    }, false);
  }

  static long long steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void send(const Argv& argv, std::chrono::milliseconds then_wait, redis::ReplyCallback done) {
    auto link = own_link();
    if (!link) return done(std::move(link).error());
    if (then_wait != kNoWait) return (*link)->command_then_wait(argv.view(), wait_replicas_, then_wait, std::move(done));
    (*link)->command(argv.view(), std::move(done));
  }

  // The link of this process. In a child forked since the link was made (gunicorn --preload,
  // multiprocessing, ...), the parent's I/O threads do not exist: the first call makes a new
  // link to the same endpoint (its own threads and connections, so no reply to anything the
  // parent sent can reach the child) and forgets the parent's (Link::stop there closes only
  // the child's copies of its sockets and joins nothing). The scripts are already loaded on the
  // servers (same text, same SHA; a NOSCRIPT is answered by EVAL as always). A failed connect
  // fails this call and is tried again by the next. The connect runs under this store's own
  // lock, not the process-wide adoption lock, so the child's other adoptions (another engine's
  // first call, an event bus) do not wait for it. A child's child forked while a thread of the
  // child connects here inherits that lock held by a thread it does not have: the first of its
  // threads here makes the lock new (adopt_after_fork, under the adoption lock, which every
  // child makes new).
  Expected<redis::Link*> own_link() {
    if (!process_.forked()) return live_.load(std::memory_order_acquire);
    detail::adopt_after_fork(reconnect_process_, [this] { detail::renew_in_place(reconnect_); });
    std::lock_guard<std::mutex> lock(reconnect_);
    if (!process_.forked()) return live_.load(std::memory_order_acquire);  // another thread did it
    client_->stop();  // the parent's: forgotten, see above
    auto fresh = redis::connect_link(client_->endpoint(), warn_);
    if (!fresh) {
      return make_error(fresh.error().code, "reconnecting to Redis after fork(): " + fresh.error().message);
    }
    if (new_primary_check_) (*fresh)->set_new_primary_check(new_primary_check_);
    // The parent's link object is never destroyed here (its thread handles belong to the parent):
    // released on purpose, a few hundred bytes per fork. Swapped in, so client_ is never null (a
    // child's child forked right here stops it above).
    std::unique_ptr<redis::Link> parents = std::move(fresh).value();
    client_.swap(parents);
    static_cast<void>(parents.release());
    live_.store(client_.get(), std::memory_order_release);
    process_.adopt();
    return client_.get();
  }

  std::unique_ptr<redis::Link> client_;
  std::atomic<redis::Link*> live_;  // client_, read without the lock
  redis::Warn warn_;
  redis::Link::PrimaryCheck new_primary_check_;
  detail::ProcessTag process_;
  std::mutex reconnect_;  // own_link's, in a forked child
  detail::ProcessTag reconnect_process_;  // the process reconnect_ was made (new) in
  std::string prefix_;
  std::string shas_[std::size(scripts::kAll)];
  std::atomic<bool> functions_{false};  // FCALL of the library, else EVALSHA (off for good once a server lost it)
  int wait_replicas_ = 0;
  std::chrono::milliseconds wait_timeout_{0};
  static constexpr std::chrono::milliseconds kNoWait{-1};     // eval(): no WAIT after the script
  static constexpr std::chrono::milliseconds kShortWait{10};  // a WAIT while replicas fall short
  std::atomic<long long> short_waits_until_{0};               // steady ms (eval_durable)
};

// A key in verikit's key space whose slot `slots` holds (any key when `slots` is empty): the
// permission probe runs on it, on the server that serves it.
std::string probe_key(const std::string& prefix, std::span<const redis::SlotRange> slots) {
  const std::string plain = prefix + ":{verikit-preflight}:p";
  auto served = [&](const std::string& key) {
    const int slot = redis::key_slot(key);
    return std::any_of(slots.begin(), slots.end(), [&](const auto& r) { return slot >= r.first && slot <= r.last; });
  };
  if (slots.empty() || served(plain)) return plain;
  // CRC16 spreads the tags over the slots: about 16384 / (slots served) tries find one.
  for (int i = 0; i < (1 << 22); ++i) {
    std::string key = prefix + ":{verikit-preflight-" + std::to_string(i) + "}:p";
    if (served(key)) return key;
  }
  return plain;  // (not reached in practice; the check would then fail with the node's MOVED)
}

}  // namespace

namespace {

// What the store's scripts need of the server, for the key prefix and URL options in use.
detail::RedisRequirements requirements(const Config& config, const redis::Endpoint& endpoint) {
  detail::RedisRequirements needs;
  needs.allow_eviction = endpoint.options.allow_eviction;
  needs.cluster = endpoint.topology == redis::Endpoint::Topology::cluster;
  needs.probe_key = config.key_prefix + ":{verikit-preflight}:p";
  needs.script_commands = RedisStore::script_commands();
  if (endpoint.options.wait_replicas > 0) needs.script_commands.push_back("wait");  // sent after the scripts
  return needs;
}

std::function<void(std::string_view)> warner(const Config& config) {
  if (config.on_warning) return config.on_warning;
  return [](std::string_view w) { std::fprintf(stderr, "%.*s\n", static_cast<int>(w.size()), w.data()); };
}

}  // namespace

Expected<std::shared_ptr<Store>> make_redis_store(const Config& config) {
  auto endpoint = redis::parse_endpoint(config.store_url, config.redis);
  if (!endpoint) return std::move(endpoint).error();
  auto warn = warner(config);
  auto link = redis::connect_link(*endpoint, warn);
  if (!link) return std::move(link).error();
  auto store = std::make_shared<RedisStore>(std::move(link).value(), warn, config.key_prefix,
                                            endpoint->options.wait_replicas, endpoint->options.wait_timeout);
  // Every primary is checked (eviction policy, version, permissions): each one holds keys. A
  // replica promoted later is checked when it takes over (then a failure is a warning).
  auto check = [needs = requirements(config, *endpoint), warn, prefix = config.key_prefix](
                   redis::Client& node, std::span<const redis::SlotRange> slots) {
    detail::RedisRequirements one = needs;
    one.probe_key = probe_key(prefix, slots);
    return detail::preflight(node, one, warn);
  };
  if (auto s = store->link().each_primary(check); !s) return std::move(s).error();
  if (auto s = store->load_scripts(); !s) return std::move(s).error();
  if (auto s = store->load_functions(); s) {
    store->use_functions(true);
  } else {
    warn("verikit: the scripts run by EVALSHA (" + s.error().message + ")");
  }
  // A server that becomes a primary later gets the library too (a replica promoted by a failover
  // has it already through replication; a node added to a cluster does not). Until it has it,
  // each call there is answered by EVAL of the whole script.
  // (A replica of a Redis Cluster does not get the library from its primary: measured on 7.0,
  // FUNCTION LOAD on a cluster's primaries leaves their replicas without it. So it is loaded
  // here first, whatever the checks then say: a node that fails them is used all the same.)
  store->set_new_primary_check([check, store = store.get(), prefix = config.key_prefix](
                                    redis::Client& node, std::span<const redis::SlotRange> slots) -> Status {
    // EVALSHA: the scripts load on first use (NOSCRIPT)
    const Status loaded = store->uses_functions() ? RedisStore::load_library(node, probe_key(prefix, slots)) : Unit{};
    if (auto s = check(node, slots); !s) return s;
    return loaded;
  });
  return std::shared_ptr<Store>(std::move(store));
}

Expected<std::vector<StoreCheck>> check_redis_store(const Config& config, std::uint64_t pending_credentials) {
  if (!redis::is_redis_url(config.store_url)) {
    // (named by its scheme only: the rest of a mistyped URL may hold a password, and this
    // message goes to logs)
    const std::string_view url = config.store_url;
    const auto colon = url.find(':');
    const std::string_view scheme = url.substr(0, std::min(colon, std::string_view::size_type{24}));
    const bool plain = colon != std::string_view::npos && colon <= 24 &&
                       std::all_of(scheme.begin(), scheme.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; });
    return make_error(Errc::invalid_argument,
                      std::string("the store URL ") + (plain ? "(scheme '" + std::string(scheme) + "') " : "") +
                          "is not a Redis URL (redis://, rediss://, unix://, redis+cluster://, redis+sentinel://): only "
                          "a Redis server has anything to check");
  }
  auto endpoint = redis::parse_endpoint(config.store_url, config.redis);
  if (!endpoint) return std::move(endpoint).error();
  const detail::OperatorChecks extra{pending_credentials, endpoint->options.wait_replicas};
  if (endpoint->topology == redis::Endpoint::Topology::single) {
    auto client = redis::Client::connect(*endpoint, warner(config));
    if (!client) return std::move(client).error();
    return detail::inspect_server(**client, requirements(config, *endpoint), &extra, false);
  }
  // A Cluster or a Sentinel-managed primary: every server that takes writes now, each item by
  // item (each item's sentence names its server).
  auto link = redis::connect_link(*endpoint, warner(config));
  if (!link) return std::move(link).error();
  std::vector<StoreCheck> all;
  const detail::RedisRequirements needs = requirements(config, *endpoint);
  auto s = (*link)->each_primary([&](redis::Client& node, std::span<const redis::SlotRange> slots) -> Status {
    detail::RedisRequirements one = needs;
    one.probe_key = probe_key(config.key_prefix, slots);
    auto items = detail::inspect_server(node, one, &extra, false);
    if (!items) return std::move(items).error();
    all.insert(all.end(), std::make_move_iterator(items->begin()), std::make_move_iterator(items->end()));
    return Unit{};
  });
  if (!s) return std::move(s).error();
  return all;
}

}  // namespace verikit
