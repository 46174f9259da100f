// verikit C API — engine handles and the operations, synchronous and asynchronous.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "capi_internal.hpp"

using verikit::Error;
using verikit::Errc;
using verikit::Expected;
using verikit::Result;
using verikit::capi::bytes;
using verikit::capi::bytes_ok;
using verikit::capi::cstr;
using verikit::capi::guard;
using verikit::capi::set_error;

namespace verikit::capi {

// Version 1 of the option structs ends where version 2's binding begins: only that much of a
// version-1 struct may be read or written.
constexpr std::size_t kIssueOptionsV1Bytes = offsetof(verikit_issue_options, binding);
constexpr std::size_t kVerifyOptionsV1Bytes = offsetof(verikit_verify_options, binding);

int to_binding(unsigned int version, const uint8_t* binding, size_t binding_len, std::string_view& out) noexcept {
  if (version < 2) return VERIKIT_OK;
  if (!bytes_ok(binding, binding_len)) return set_error(VERIKIT_E_INVALID_ARGUMENT, "binding is NULL with a nonzero length");
  out = bytes(binding, binding_len);
  return VERIKIT_OK;
}

int to_issue_options(const verikit_issue_options* in, verikit::IssueOptions& out) noexcept {
  if (in == nullptr) return VERIKIT_OK;
  if (in->version != 1 && in->version != VERIKIT_ISSUE_OPTIONS_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_issue_options.version is not known to this library");
  if (!bytes_ok(in->payload, in->payload_len))
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "payload is NULL with a nonzero length");
  if (!bytes_ok(in->client_key, in->client_key_len))
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "client_key is NULL with a nonzero length");
  out.payload = bytes(in->payload, in->payload_len);
  out.ttl = std::chrono::seconds(in->ttl_seconds);
  out.client_key = bytes(in->client_key, in->client_key_len);
  return in->version >= 2 ? to_binding(in->version, in->binding, in->binding_len, out.binding) : VERIKIT_OK;
}

int to_verify_options(const verikit_verify_options* in, verikit::VerifyOptions& out) noexcept {
  if (in == nullptr) return VERIKIT_OK;
  if (in->version != 1 && in->version != VERIKIT_VERIFY_OPTIONS_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_verify_options.version is not known to this library");
  if (!bytes_ok(in->client_key, in->client_key_len))
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "client_key is NULL with a nonzero length");
  out.client_key = bytes(in->client_key, in->client_key_len);
  return in->version >= 2 ? to_binding(in->version, in->binding, in->binding_len, out.binding) : VERIKIT_OK;
}

verikit::Callback<Result> completion(verikit_callback callback, void* user) {
  return [callback, user](Expected<Result>&& r) {  // (&&: no move of the Result per call)
    if (!r) return callback(user, static_cast<int>(r.error().code), r.error().message.c_str(), nullptr);
    auto* result = new (std::nothrow) verikit_result{std::move(r).value()};
    if (result == nullptr) return callback(user, VERIKIT_E_NO_MEMORY, "out of memory", nullptr);
    callback(user, VERIKIT_OK, "", result);
  };
}

void fail(verikit_callback callback, void* user, int error, const char* message) {
  callback(user, error, message, nullptr);
}

verikit::Callback<int> count_completion(verikit_count_callback callback, void* user) {
  return [callback, user](Expected<int> r) {
    if (!r) return callback(user, static_cast<int>(r.error().code), r.error().message.c_str(), 0);
    callback(user, VERIKIT_OK, "", *r);
  };
}

void fail(verikit_count_callback callback, void* user, int error, const char* message) {
  callback(user, error, message, 0);
}

}  // namespace verikit::capi

namespace {

// The engines whose asynchronous callbacks this thread is inside, innermost last: freeing one of
// them there cannot wait for its callbacks (it would wait for itself); freeing another engine
// waits as anywhere else. (One count for every engine let a free inside another engine's callback
// return before that engine's callbacks had run: found by a review; so did a fixed depth of 16,
// which callbacks that start calls on an embedded store, answered inline, pass.) Plain
// thread-locals only (one with a destructor would keep the library loaded after dlclose): the
// first kInline in place, deeper ones in an array allocated while they last. An entry that could
// not be recorded (no memory) makes every free on this thread skip the wait, as before.
constexpr int kInline = 16;
thread_local const verikit_engine::Flight* t_inline[kInline];
thread_local const verikit_engine::Flight** t_deeper = nullptr;
thread_local int t_deeper_capacity = 0;
thread_local int t_depth = 0;       // entries recorded
thread_local int t_unrecorded = 0;  // entries that could not be

bool push_callback(const verikit_engine::Flight* f) noexcept {
  if (t_depth < kInline) {
    t_inline[t_depth++] = f;
    return true;
  }
  const int at = t_depth - kInline;
  if (at >= t_deeper_capacity) {
    const int capacity = t_deeper_capacity == 0 ? kInline : 2 * t_deeper_capacity;
    void* grown = std::realloc(static_cast<void*>(t_deeper), sizeof(*t_deeper) * static_cast<std::size_t>(capacity));
    if (grown == nullptr) return false;
    t_deeper = static_cast<const verikit_engine::Flight**>(grown);
    t_deeper_capacity = capacity;
  }
  t_deeper[at] = f;
  ++t_depth;
  return true;
}

void pop_callback() noexcept {
  --t_depth;
  if (t_depth <= kInline && t_deeper != nullptr) {
    std::free(static_cast<void*>(t_deeper));
    t_deeper = nullptr;
    t_deeper_capacity = 0;
  }
}

struct InCallback {
  explicit InCallback(const verikit_engine::Flight* f) noexcept : recorded(push_callback(f)) {
    if (!recorded) ++t_unrecorded;
  }
  ~InCallback() {
    if (recorded) pop_callback();
    else --t_unrecorded;
  }
  InCallback(const InCallback&) = delete;
  InCallback& operator=(const InCallback&) = delete;
  const bool recorded;
};

bool in_callback_of(const verikit_engine::Flight* f) noexcept {
  if (t_unrecorded > 0) return true;
  for (int i = 0; i < t_depth; ++i)
    if ((i < kInline ? t_inline[i] : t_deeper[i - kInline]) == f) return true;
  return false;
}

constexpr const char* kFreeing = "the engine is being freed (verikit_engine_free): it takes no new calls";

Error null_bytes(const char* what) {
  return verikit::make_error(Errc::invalid_argument, std::string(what) + " is NULL with a nonzero length");
}

// A synchronous operation: checks the handles, runs `op`, hands its result over.
template <class Op>
int run(verikit_result** out, verikit_engine* engine, Op&& op) {
  return guard([&] {
    if (out != nullptr) *out = nullptr;
    if (out == nullptr || engine == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "out or engine is NULL");
    if (engine->freeing.load(std::memory_order_acquire)) return set_error(VERIKIT_E_INVALID_ARGUMENT, kFreeing);
    return verikit::capi::deliver(op(*engine->engine), out);
  });
}

// An operation that yields a count or a flag.
template <class T, class Op>
int run_count(T* out, verikit_engine* engine, Op&& op) {
  return guard([&] {
    if (engine == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "engine is NULL");
    if (engine->freeing.load(std::memory_order_acquire)) return set_error(VERIKIT_E_INVALID_ARGUMENT, kFreeing);
    auto r = op(*engine->engine);
    if (!r) return set_error(r.error());
    if (out != nullptr) *out = static_cast<T>(*r);
    return VERIKIT_OK;
  });
}

// An asynchronous operation: the callback runs exactly once, even if the engine throws.
// `T` is what the engine completes with; `completion` wraps the C callback as that completion.
template <class T, class CCallback, class Op>
int run_async(verikit_engine* engine, CCallback callback, void* user,
              verikit::Callback<T> (*completion)(CCallback, void*), Op&& op) {
  if (engine == nullptr || callback == nullptr)
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "engine or callback is NULL");
  // One allocation holds what the completion needs (the engine's closure then fits in
  // std::function without another): the once-only flag, the engine's in-flight count, the C callback.
  struct Once {
    std::atomic<bool> called{false};
    std::shared_ptr<verikit_engine::Flight> flight;  // set once the call is counted in
    std::uint64_t generation = 0;                    // ... in the process of this fork generation
    CCallback callback;
    void* user;
    verikit::Callback<T> (*completion)(CCallback, void*);
    void settle(Expected<T>&& r) {  // a second call is ignored
      if (called.exchange(true)) return;
      {
        InCallback in(flight.get());
        completion(callback, user)(std::move(r));
      }
      count_out();
    }
    // The engine's completion was destroyed without being called (it threw on a store thread,
    // which caught and dropped it): the caller still gets its one callback, and the engine is freed.
    // Not in a child forked since the call was counted in: there the call is the parent's (a
    // thread of the parent's that a callback forked ends in the child, dropping what it held).
    ~Once() {
      if (flight == nullptr || verikit::detail::fork_generation() != generation || called.exchange(true)) return;
      {
        InCallback in(flight.get());
        verikit::capi::fail(callback, user, VERIKIT_E_INTERNAL,
                            "the operation ended without an answer (its completion failed)");
      }
      count_out();
    }
    // Not in a child forked since the call was counted in (a callback that forks returns in the
    // child too): the child counts its own calls from zero, and this one is the parent's.
    void count_out() {
      if (verikit::detail::fork_generation() != generation) return;
      std::lock_guard<std::mutex> lock(flight->mutex);
      if (--flight->pending == 0) flight->idle.notify_all();
    }
  };
  std::shared_ptr<Once> once;
  // (Inside guard: no exception crosses extern "C"; nothing is counted yet.)
  if (int rc = guard([&] {
        once = std::make_shared<Once>();
        once->callback = callback;
        once->user = user;
        once->completion = completion;
        return VERIKIT_OK;
      });
      rc != VERIKIT_OK) {
    verikit::capi::fail(callback, user, rc, verikit_error_message());
    return VERIKIT_OK;
  }
  verikit_engine::Flight& flight = engine->flight->here();
  {
    // (Checked under the lock verikit_engine_free waits on: a call is either refused or counted
    // in before free sees none in flight; found by a review.)
    std::unique_lock<std::mutex> lock(flight.mutex);
    if (engine->freeing.load(std::memory_order_acquire)) {  // (called back at once, counted nowhere)
      lock.unlock();  // (`once` has no flight yet: its destructor calls nothing back)
      verikit::capi::fail(callback, user, VERIKIT_E_INVALID_ARGUMENT, kFreeing);
      return VERIKIT_OK;
    }
    ++flight.pending;
  }
  once->flight = engine->flight;  // (the destructor counts out only a call counted in)
  once->generation = verikit::detail::fork_generation();
  // Counted out only after the caller's callback has returned: verikit_engine_free waits for it.
  int rc = guard([&] {
    op(*engine->engine, verikit::Callback<T>([once](Expected<T>&& r) { once->settle(std::move(r)); }));
    return VERIKIT_OK;
  });
  if (rc != VERIKIT_OK && !once->called.exchange(true)) {
    verikit::capi::fail(callback, user, rc, verikit_error_message());
    once->count_out();
  }
  return VERIKIT_OK;
}

// An asynchronous operation that completes with a result.
template <class Op>
int run_async(verikit_engine* engine, verikit_callback callback, void* user, Op&& op) {
  return run_async<Result>(engine, callback, user, &verikit::capi::completion, std::forward<Op>(op));
}

// An asynchronous operation that completes with a count or a flag (true is 1).
template <class T, class Op>
int run_async_count(verikit_engine* engine, verikit_count_callback callback, void* user, Op&& op) {
  return run_async<int>(engine, callback, user, &verikit::capi::count_completion,
                        [&](verikit::Engine& e, verikit::Callback<int> done) {
                          if constexpr (std::is_same_v<T, int>) {
                            op(e, std::move(done));
                          } else {
                            op(e, verikit::Callback<T>([done = std::move(done)](Expected<T> r) {
                                 if (!r) return done(std::move(r).error());
                                 done(*r ? 1 : 0);
                               }));
                          }
                        });
}

// verify_token / consume_link with verify options (the _ext forms).
using CheckWith = void (verikit::Engine::*)(std::string_view, std::string_view, const verikit::VerifyOptions&,
                                            verikit::Callback<Result>);

void check_with(verikit::Engine& e, CheckWith check, const char* purpose, const char* token, size_t token_len,
                const verikit_verify_options* options, verikit::Callback<Result> done) {
  if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
  verikit::VerifyOptions o;
  if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
    return done(Error{static_cast<Errc>(rc), verikit_error_message()});
  (e.*check)(bytes(token, token_len), cstr(purpose), o, std::move(done));
}

using CheckWithSync = Expected<Result> (verikit::Engine::*)(std::string_view, std::string_view,
                                                             const verikit::VerifyOptions&);

int check_with_sync(verikit_result** out, verikit_engine* engine, CheckWithSync check, const char* purpose,
                    const char* token, size_t token_len, const verikit_verify_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return (e.*check)(bytes(token, token_len), cstr(purpose), o);
  });
}

}  // namespace

extern "C" {

VERIKIT_EXTERN(int) verikit_issue_options_init(verikit_issue_options* options, unsigned int version) {
  if (options == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "options is NULL");
  if (version != 1 && version != VERIKIT_ISSUE_OPTIONS_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_issue_options_init: unknown version " + std::to_string(version));
  const verikit_issue_options init = VERIKIT_ISSUE_OPTIONS_INIT;
  std::memcpy(options, &init, version == 1 ? verikit::capi::kIssueOptionsV1Bytes : sizeof init);
  options->version = version;
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_key_generate(uint8_t* key, size_t key_len) {
  if (key == nullptr || key_len != VERIKIT_KEY_BYTES)
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "key must point to exactly 32 bytes");
  verikit::Key k = verikit::generate_key();
  std::memcpy(key, k.bytes.data(), key_len);
  verikit::detail::wipe(k.bytes.data(), k.bytes.size());
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_engine_new(verikit_engine** out, const verikit_config* config) {
  return guard([&] {
    if (out != nullptr) *out = nullptr;
    if (out == nullptr || config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "out or config is NULL");
    verikit::Config c = config->config;
    if (config->current_key) {
      c.keys = verikit::KeySet{*config->current_key, config->previous_keys, config->index_key};
    } else if (!config->previous_keys.empty() || config->index_key) {
      return set_error(VERIKIT_E_CONFIG, "previous keys or an index key were given without a current key");
    }
    auto engine = verikit::Engine::create(std::move(c));
    if (!engine) return set_error(engine.error());
    auto* made = new verikit_engine;
    made->engine = std::move(engine).value();
    *out = made;
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_engine_metrics(verikit_engine* engine, char* buffer, size_t capacity, size_t* needed_out) {
  return guard([&] {
    if (engine == nullptr || needed_out == nullptr || (buffer == nullptr && capacity != 0))
      return set_error(VERIKIT_E_INVALID_ARGUMENT, "engine or needed_out is NULL, or buffer is NULL with a capacity");
    const std::string text = engine->engine->metrics();
    *needed_out = text.size() + 1;
    if (capacity < text.size() + 1)
      return set_error(VERIKIT_E_INVALID_ARGUMENT,
                       "buffer too small: " + std::to_string(text.size() + 1) + " bytes needed (see *needed_out)");
    std::memcpy(buffer, text.c_str(), text.size() + 1);
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(void) verikit_engine_free(verikit_engine* engine) {
  if (engine == nullptr) return;
  engine->freeing.store(true, std::memory_order_release);  // no new calls, an event handler's included
  if (!in_callback_of(engine->flight.get())) {  // every asynchronous call's callback has run and returned
    {
      engine->flight->here();
      std::unique_lock<std::mutex> lock(engine->flight->mutex);
      engine->flight->idle.wait(lock, [&] { return engine->flight->pending == 0; });
    }
    // The queued events are delivered now, while everything their handler may touch is there (its
    // calls on this engine fail: freeing); the handler is not called after this.
    engine->engine->stop_events();
    // A completion that has just returned may still hold the engine's last reference on the
    // store's thread, which would then end that thread on its own after this returns: end the
    // store's threads here, so none outlives verikit_engine_free (dlclose may follow).
    engine->engine->stop_threads();
  }
  delete engine;
}

// ---- OTP ----

VERIKIT_EXTERN(int) verikit_otp_issue(verikit_result** out, verikit_engine* engine, const char* purpose,
                                      const char* identifier, size_t identifier_len,
                                      const verikit_issue_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    verikit::IssueOptions o;
    if (int rc = verikit::capi::to_issue_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.issue_otp(cstr(purpose), bytes(identifier, identifier_len), o);
  });
}

VERIKIT_EXTERN(int) verikit_otp_verify(verikit_result** out, verikit_engine* engine, const char* purpose,
                                       const char* identifier, size_t identifier_len, const char* code,
                                       size_t code_len, const verikit_verify_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    if (!bytes_ok(code, code_len)) return null_bytes("code");
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.verify_otp(cstr(purpose), bytes(identifier, identifier_len), bytes(code, code_len), o);
  });
}

VERIKIT_EXTERN(int) verikit_verify_options_init(verikit_verify_options* options, unsigned int version) {
  if (options == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "options is NULL");
  if (version != 1 && version != VERIKIT_VERIFY_OPTIONS_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_verify_options_init: unknown version " + std::to_string(version));
  const verikit_verify_options init = VERIKIT_VERIFY_OPTIONS_INIT;
  std::memcpy(options, &init, version == 1 ? verikit::capi::kVerifyOptionsV1Bytes : sizeof init);
  options->version = version;
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_unlock(int* was_locked_out, verikit_engine* engine, const char* purpose,
                                   const char* identifier, size_t identifier_len) {
  return run_count(was_locked_out, engine, [&](verikit::Engine& e) -> Expected<bool> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.unlock(cstr(purpose), bytes(identifier, identifier_len));
  });
}

VERIKIT_EXTERN(int) verikit_otp_revoke(int* revoked_out, verikit_engine* engine, const char* purpose,
                                       const char* identifier, size_t identifier_len) {
  return run_count(revoked_out, engine, [&](verikit::Engine& e) -> Expected<bool> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.revoke_otp(cstr(purpose), bytes(identifier, identifier_len));
  });
}

// ---- tokens ----

VERIKIT_EXTERN(int) verikit_token_issue(verikit_result** out, verikit_engine* engine, const char* purpose,
                                        const char* identifier, size_t identifier_len,
                                        const verikit_issue_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    verikit::IssueOptions o;
    if (int rc = verikit::capi::to_issue_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.issue_token(cstr(purpose), bytes(identifier, identifier_len), o);
  });
}

VERIKIT_EXTERN(int) verikit_token_verify(verikit_result** out, verikit_engine* engine, const char* purpose,
                                         const char* token, size_t token_len) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    return e.verify_token(bytes(token, token_len), cstr(purpose));
  });
}

VERIKIT_EXTERN(int) verikit_token_verify_ext(verikit_result** out, verikit_engine* engine, const char* purpose,
                                             const char* token, size_t token_len,
                                             const verikit_verify_options* options) {
  return check_with_sync(out, engine, &verikit::Engine::verify_token, purpose, token, token_len, options);
}

VERIKIT_EXTERN(int) verikit_token_peek(verikit_result** out, verikit_engine* engine, const char* purpose,
                                       const char* token, size_t token_len) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    return e.peek_token(bytes(token, token_len), cstr(purpose));
  });
}

VERIKIT_EXTERN(int) verikit_token_revoke(int* revoked_out, verikit_engine* engine, const char* token, size_t token_len) {
  return run_count(revoked_out, engine, [&](verikit::Engine& e) -> Expected<bool> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    return e.revoke_token(bytes(token, token_len));
  });
}

// ---- magic links ----

VERIKIT_EXTERN(int) verikit_link_issue(verikit_result** out, verikit_engine* engine, const char* purpose,
                                       const char* identifier, size_t identifier_len, const char* base_url,
                                       const verikit_issue_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    verikit::IssueOptions o;
    if (int rc = verikit::capi::to_issue_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.issue_link(cstr(purpose), bytes(identifier, identifier_len), cstr(base_url), o);
  });
}

VERIKIT_EXTERN(int) verikit_link_peek(verikit_result** out, verikit_engine* engine, const char* purpose,
                                      const char* token, size_t token_len) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    return e.peek_link(bytes(token, token_len), cstr(purpose));
  });
}

VERIKIT_EXTERN(int) verikit_link_consume(verikit_result** out, verikit_engine* engine, const char* purpose,
                                         const char* token, size_t token_len) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    return e.consume_link(bytes(token, token_len), cstr(purpose));
  });
}

VERIKIT_EXTERN(int) verikit_link_consume_ext(verikit_result** out, verikit_engine* engine, const char* purpose,
                                             const char* token, size_t token_len,
                                             const verikit_verify_options* options) {
  return check_with_sync(out, engine, &verikit::Engine::consume_link, purpose, token, token_len, options);
}

VERIKIT_EXTERN(int) verikit_link_revoke(int* revoked_out, verikit_engine* engine, const char* token, size_t token_len) {
  return run_count(revoked_out, engine, [&](verikit::Engine& e) -> Expected<bool> {
    if (!bytes_ok(token, token_len)) return null_bytes("token");
    return e.revoke_link(bytes(token, token_len));
  });
}

// ---- per identifier ----

VERIKIT_EXTERN(int) verikit_revoke_all(int* count_out, verikit_engine* engine, const char* purpose,
                                       const char* identifier, size_t identifier_len) {
  return run_count(count_out, engine, [&](verikit::Engine& e) -> Expected<int> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.revoke_all(cstr(purpose), bytes(identifier, identifier_len));
  });
}

VERIKIT_EXTERN(int) verikit_inspect(verikit_result** out, verikit_engine* engine, const char* purpose,
                                    const char* identifier, size_t identifier_len) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.inspect(cstr(purpose), bytes(identifier, identifier_len));
  });
}

// ---- asynchronous forms ----

VERIKIT_EXTERN(int) verikit_otp_issue_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                            size_t identifier_len, const verikit_issue_options* options,
                                            verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    verikit::IssueOptions o;
    if (int rc = verikit::capi::to_issue_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.issue_otp(cstr(purpose), bytes(identifier, identifier_len), o, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_otp_verify_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                             size_t identifier_len, const char* code, size_t code_len,
                                             const verikit_verify_options* options, verikit_callback callback,
                                             void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    if (!bytes_ok(code, code_len)) return done(null_bytes("code"));
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.verify_otp(cstr(purpose), bytes(identifier, identifier_len), bytes(code, code_len), o, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_token_issue_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                              size_t identifier_len, const verikit_issue_options* options,
                                              verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    verikit::IssueOptions o;
    if (int rc = verikit::capi::to_issue_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.issue_token(cstr(purpose), bytes(identifier, identifier_len), o, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_token_verify_async(verikit_engine* engine, const char* purpose, const char* token,
                                               size_t token_len, verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
    e.verify_token(bytes(token, token_len), cstr(purpose), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_token_peek_async(verikit_engine* engine, const char* purpose, const char* token,
                                             size_t token_len, verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
    e.peek_token(bytes(token, token_len), cstr(purpose), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_link_issue_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                             size_t identifier_len, const char* base_url,
                                             const verikit_issue_options* options, verikit_callback callback,
                                             void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    verikit::IssueOptions o;
    if (int rc = verikit::capi::to_issue_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.issue_link(cstr(purpose), bytes(identifier, identifier_len), cstr(base_url), o, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_link_peek_async(verikit_engine* engine, const char* purpose, const char* token,
                                            size_t token_len, verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
    e.peek_link(bytes(token, token_len), cstr(purpose), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_link_consume_async(verikit_engine* engine, const char* purpose, const char* token,
                                               size_t token_len, verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
    e.consume_link(bytes(token, token_len), cstr(purpose), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_token_verify_ext_async(verikit_engine* engine, const char* purpose, const char* token,
                                                   size_t token_len, const verikit_verify_options* options,
                                                   verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    check_with(e, &verikit::Engine::verify_token, purpose, token, token_len, options, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_link_consume_ext_async(verikit_engine* engine, const char* purpose, const char* token,
                                                   size_t token_len, const verikit_verify_options* options,
                                                   verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    check_with(e, &verikit::Engine::consume_link, purpose, token, token_len, options, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_otp_revoke_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                             size_t identifier_len, verikit_count_callback callback, void* user) {
  return run_async_count<bool>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<bool> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.revoke_otp(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_token_revoke_async(verikit_engine* engine, const char* token, size_t token_len,
                                               verikit_count_callback callback, void* user) {
  return run_async_count<bool>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<bool> done) {
    if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
    e.revoke_token(bytes(token, token_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_link_revoke_async(verikit_engine* engine, const char* token, size_t token_len,
                                              verikit_count_callback callback, void* user) {
  return run_async_count<bool>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<bool> done) {
    if (!bytes_ok(token, token_len)) return done(null_bytes("token"));
    e.revoke_link(bytes(token, token_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_revoke_all_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                             size_t identifier_len, verikit_count_callback callback, void* user) {
  return run_async_count<int>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<int> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.revoke_all(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_inspect_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                          size_t identifier_len, verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.inspect(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_unlock_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                         size_t identifier_len, verikit_count_callback callback, void* user) {
  return run_async_count<bool>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<bool> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.unlock(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

// ---- recovery codes ----

VERIKIT_EXTERN(int) verikit_recovery_generate(verikit_result** out, verikit_engine* engine, const char* purpose,
                                              const char* identifier, size_t identifier_len) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.generate_recovery_codes(cstr(purpose), bytes(identifier, identifier_len));
  });
}

VERIKIT_EXTERN(int) verikit_recovery_use(verikit_result** out, verikit_engine* engine, const char* purpose,
                                         const char* identifier, size_t identifier_len, const char* code,
                                         size_t code_len, const verikit_verify_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    if (!bytes_ok(code, code_len)) return null_bytes("code");
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.use_recovery_code(cstr(purpose), bytes(identifier, identifier_len), bytes(code, code_len), o);
  });
}

VERIKIT_EXTERN(int) verikit_recovery_remaining(int* count_out, verikit_engine* engine, const char* purpose,
                                               const char* identifier, size_t identifier_len) {
  return run_count(count_out, engine, [&](verikit::Engine& e) -> Expected<int> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.recovery_codes_remaining(cstr(purpose), bytes(identifier, identifier_len));
  });
}

VERIKIT_EXTERN(int) verikit_recovery_generate_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                                    size_t identifier_len, verikit_callback callback, void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.generate_recovery_codes(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_recovery_use_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                               size_t identifier_len, const char* code, size_t code_len,
                                               const verikit_verify_options* options, verikit_callback callback,
                                               void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    if (!bytes_ok(code, code_len)) return done(null_bytes("code"));
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.use_recovery_code(cstr(purpose), bytes(identifier, identifier_len), bytes(code, code_len), o, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_recovery_remaining_async(verikit_engine* engine, const char* purpose,
                                                     const char* identifier, size_t identifier_len,
                                                     verikit_count_callback callback, void* user) {
  return run_async_count<int>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<int> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.recovery_codes_remaining(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_revoke_second_factors(int* count_out, verikit_engine* engine, const char* purpose,
                                                  const char* identifier, size_t identifier_len) {
  return run_count(count_out, engine, [&](verikit::Engine& e) -> Expected<int> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.revoke_second_factors(cstr(purpose), bytes(identifier, identifier_len));
  });
}

VERIKIT_EXTERN(int) verikit_revoke_second_factors_async(verikit_engine* engine, const char* purpose,
                                                        const char* identifier, size_t identifier_len,
                                                        verikit_count_callback callback, void* user) {
  return run_async_count<int>(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<int> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.revoke_second_factors(cstr(purpose), bytes(identifier, identifier_len), std::move(done));
  });
}

// ---- authenticator codes (TOTP) ----

VERIKIT_EXTERN(int) verikit_totp_enroll(verikit_result** out, verikit_engine* engine, const char* purpose,
                                        const char* identifier, size_t identifier_len, const char* issuer) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.enroll_totp(cstr(purpose), bytes(identifier, identifier_len), cstr(issuer));
  });
}

VERIKIT_EXTERN(int) verikit_totp_verify(verikit_result** out, verikit_engine* engine, const char* purpose,
                                        const char* identifier, size_t identifier_len, const char* code,
                                        size_t code_len, const verikit_verify_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    if (!bytes_ok(code, code_len)) return null_bytes("code");
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.verify_totp(cstr(purpose), bytes(identifier, identifier_len), bytes(code, code_len), o);
  });
}

VERIKIT_EXTERN(int) verikit_totp_begin(verikit_result** out, verikit_engine* engine, const char* purpose,
                                       const char* identifier, size_t identifier_len, const char* issuer) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    return e.begin_totp_enrollment(cstr(purpose), bytes(identifier, identifier_len), cstr(issuer));
  });
}

VERIKIT_EXTERN(int) verikit_totp_confirm(verikit_result** out, verikit_engine* engine, const char* purpose,
                                         const char* identifier, size_t identifier_len, const char* pending,
                                         size_t pending_len, const char* code, size_t code_len,
                                         const verikit_verify_options* options) {
  return run(out, engine, [&](verikit::Engine& e) -> Expected<Result> {
    if (!bytes_ok(identifier, identifier_len)) return null_bytes("identifier");
    if (!bytes_ok(pending, pending_len)) return null_bytes("pending");
    if (!bytes_ok(code, code_len)) return null_bytes("code");
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return Error{static_cast<Errc>(rc), verikit_error_message()};
    return e.confirm_totp_enrollment(cstr(purpose), bytes(identifier, identifier_len), bytes(pending, pending_len),
                                     bytes(code, code_len), o);
  });
}

VERIKIT_EXTERN(int) verikit_totp_begin_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                             size_t identifier_len, const char* issuer, verikit_callback callback,
                                             void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.begin_totp_enrollment(cstr(purpose), bytes(identifier, identifier_len), cstr(issuer), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_totp_confirm_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                               size_t identifier_len, const char* pending, size_t pending_len,
                                               const char* code, size_t code_len,
                                               const verikit_verify_options* options, verikit_callback callback,
                                               void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    if (!bytes_ok(pending, pending_len)) return done(null_bytes("pending"));
    if (!bytes_ok(code, code_len)) return done(null_bytes("code"));
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.confirm_totp_enrollment(cstr(purpose), bytes(identifier, identifier_len), bytes(pending, pending_len),
                              bytes(code, code_len), o, std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_totp_enroll_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                              size_t identifier_len, const char* issuer, verikit_callback callback,
                                              void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    e.enroll_totp(cstr(purpose), bytes(identifier, identifier_len), cstr(issuer), std::move(done));
  });
}

VERIKIT_EXTERN(int) verikit_totp_verify_async(verikit_engine* engine, const char* purpose, const char* identifier,
                                              size_t identifier_len, const char* code, size_t code_len,
                                              const verikit_verify_options* options, verikit_callback callback,
                                              void* user) {
  return run_async(engine, callback, user, [&](verikit::Engine& e, verikit::Callback<Result> done) {
    if (!bytes_ok(identifier, identifier_len)) return done(null_bytes("identifier"));
    if (!bytes_ok(code, code_len)) return done(null_bytes("code"));
    verikit::VerifyOptions o;
    if (int rc = verikit::capi::to_verify_options(options, o); rc != VERIKIT_OK)
      return done(Error{static_cast<Errc>(rc), verikit_error_message()});
    e.verify_totp(cstr(purpose), bytes(identifier, identifier_len), bytes(code, code_len), o, std::move(done));
  });
}

}  // extern "C"
