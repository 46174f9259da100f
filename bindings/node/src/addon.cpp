// verikit Node.js addon (node-addon-api, Node-API 8) over the C API, verikit.h, and nothing else
// of the core: configuration through verikit_config_*, every operation through its *_async
// function, results read with the verikit_result_* getters, errors by their C code. Thin:
// arguments are converted once and every rule and default lives in the core.
//
// One completion path for every operation: the C callback gets an `Op` (its `user` pointer, which
// owns everything the callback touches). On the JS thread (the embedded store completes before
// the call returns) it settles the Promise at once; on a verikit thread it queues the Op on the
// engine's ThreadSafeFunction, which settles it on the JS thread. The function is referenced
// only while operations are in flight. close() refuses new calls and lets those in flight
// settle with their answers; the engine is freed and the function released after the last one
// (Flight): no callback ever sees a released function or a freed engine.
//
// Lifecycle events come from the engine's event thread through a second thread-safe function,
// always unreferenced (events never keep the process alive), to the JS `emit` function the
// facade gives; nothing is copied or queued while no listener is registered (setListening).
// The engine is freed before that function is released, so its last events still reach it.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "verikit.h"

namespace {

// ---- per-environment state (no globals: safe in worker threads) ----

struct AddonData {
  Napi::FunctionReference engine_ctor;
  std::map<int, Napi::FunctionReference> errors;  // C error code -> Error subclass (set from JS)
  Napi::FunctionReference error_base;
  Napi::FunctionReference make_result;  // (status, ok, secret, ...) -> a result object (set from JS)
  std::map<std::string, std::string, std::less<>> field_types;   // policy field -> schema type
  std::map<std::string, std::string, std::less<>> option_types;  // engine option -> schema type
};

AddonData* addon_data(Napi::Env env);

// An Error subclass instance for a C error code (the classes are registered by index.js), with
// `code` set to the C name of the code ("VERIKIT_E_CONFIG", ...).
Napi::Value make_error(Napi::Env env, int code, const std::string& message) {
  auto* data = addon_data(env);
  Napi::Object err;
  auto it = data->errors.find(code);
  if (it != data->errors.end()) err = it->second.New({Napi::String::New(env, message)});
  else if (!data->error_base.IsEmpty()) err = data->error_base.New({Napi::String::New(env, message)});
  else err = Napi::Error::New(env, message).Value();
  err.Set("code", Napi::String::New(env, verikit_error_name(code)));
  return err;
}

// The last C API failure on this thread as a JS error.
Napi::Value last_error(Napi::Env env, int code) { return make_error(env, code, verikit_error_message()); }

// ---- results: plain objects of one shape, made by a JS function the facade gives (an object
// literal there costs a fraction of defining the same properties through Node-API) ----

enum Prop { kStatus, kOk, kSecret, kUrl, kPurpose, kIdentifier, kPayload, kExpiresAt, kAttempts, kRetryAfter,
            kActiveTokens, kCounters, kReused, kReplicas, kCodes, kPending, kPropCount };
constexpr const char* kPropNames[kPropCount] = {"status", "ok", "secret", "url", "purpose", "identifier", "payload",
                                                "expiresAt", "attemptsRemaining", "retryAfter", "activeTokens", "counters",
                                                "reused", "replicasConfirmed", "codes", "pending"};

// Times in the C API are ms since the epoch, 0 when not set.
Napi::Value date_or_null(Napi::Env env, int64_t ms) {
  if (ms == 0) return env.Null();
  return Napi::Date::New(env, static_cast<double>(ms));
}

Napi::Value count_or_null(Napi::Env env, int64_t n) { return n < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(n)); }

using TextGetter = int (*)(const verikit_result*, const char**, size_t*);
Napi::String text(Napi::Env env, const verikit_result* r, TextGetter get) {
  const char* data = nullptr;
  size_t len = 0;
  get(r, &data, &len);
  return Napi::String::New(env, data == nullptr ? "" : data, data == nullptr ? 0 : len);
}

Napi::String text(Napi::Env env, const verikit_result* r, size_t code) {
  const char* data = nullptr;
  size_t len = 0;
  verikit_result_code(r, code, &data, &len);
  return Napi::String::New(env, data == nullptr ? "" : data, data == nullptr ? 0 : len);
}

int64_t counter(const verikit_result* r, verikit_counter c) {
  int64_t v = 0;
  verikit_result_counter(r, c, &v);
  return v;
}

Napi::Value to_js(Napi::Env env, const verikit_result* r, bool with_counters) {
  int status = 0, reused = 0;
  int32_t attempts = -1, active = -1, replicas = -1;
  int64_t expires = 0, retry = 0;
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
  verikit_result_status(r, &status);
  verikit_result_expires_at_ms(r, &expires);
  verikit_result_attempts_remaining(r, &attempts);
  verikit_result_retry_after_ms(r, &retry);
  verikit_result_active_tokens(r, &active);
  verikit_result_reused(r, &reused);
  verikit_result_replicas_confirmed(r, &replicas);
  verikit_result_payload(r, &payload, &payload_len);
  // The status goes as its number and `ok` is left to the factory, which names both from the
  // schema's table (a name made here would be a new JS string per result); an empty payload goes
  // as null, for which the factory makes an empty Buffer (a Buffer made through Node-API has a
  // backing store of its own, even for no bytes); the expiry as its milliseconds (or null), which
  // the factory makes a Date (cheaper in JS than through Node-API).
  napi_value values[kPropCount] = {
      Napi::Number::New(env, status),
      env.Undefined(),
      text(env, r, verikit_result_secret),
      text(env, r, verikit_result_url),
      text(env, r, verikit_result_purpose),
      text(env, r, verikit_result_identifier),
      payload == nullptr || payload_len == 0
          ? env.Null()
          : Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(payload), payload_len),
      expires == 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(expires)),
      count_or_null(env, attempts),
      Napi::Number::New(env, static_cast<double>(retry)),
      count_or_null(env, active),
      env.Null(),
      Napi::Boolean::New(env, reused != 0),
      count_or_null(env, replicas),
      env.Null(),
      env.Null(),
  };
  size_t codes = 0;
  verikit_result_code_count(r, &codes);
  if (codes > 0) {  // recovery codes: only a generate result has them
    Napi::Array list = Napi::Array::New(env, codes);
    for (size_t i = 0; i < codes; ++i) list.Set(static_cast<uint32_t>(i), text(env, r, i));
    values[kCodes] = list;
  }
  const char* pending = nullptr;
  size_t pending_len = 0;
  verikit_result_pending(r, &pending, &pending_len);
  if (pending_len > 0) values[kPending] = Napi::String::New(env, pending, pending_len);  // beginTotpEnrollment only
  if (with_counters) {
    Napi::Object k = Napi::Object::New(env);
    k.Set("failures", Napi::Number::New(env, static_cast<double>(counter(r, VERIKIT_COUNTER_FAILURES))));
    k.Set("failuresResetAt", date_or_null(env, counter(r, VERIKIT_COUNTER_FAILURES_RESET_AT_MS)));
    k.Set("lockedUntil", date_or_null(env, counter(r, VERIKIT_COUNTER_LOCKED_UNTIL_MS)));
    k.Set("guessesAvailable", count_or_null(env, counter(r, VERIKIT_COUNTER_GUESSES_AVAILABLE)));
    k.Set("cooldownUntil", date_or_null(env, counter(r, VERIKIT_COUNTER_COOLDOWN_UNTIL_MS)));
    k.Set("sendsAvailable", count_or_null(env, counter(r, VERIKIT_COUNTER_SENDS_AVAILABLE)));
    k.Set("sendLimitResetAt", date_or_null(env, counter(r, VERIKIT_COUNTER_SEND_LIMIT_RESET_AT_MS)));
    values[kCounters] = k;
  }
  return addon_data(env)->make_result.Call(env.Undefined(), kPropCount, values);
}

// ---- one operation in flight, and the engine's completion path ----

struct Op;
void call_js(Napi::Env env, Napi::Function, std::nullptr_t*, Op* op);
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Op, call_js>;

// ---- lifecycle events: copied on the engine's event thread, turned into objects on the JS thread ----

struct EventData {
  std::string name, purpose, identifier_tag, identifier, client_tag;
  int kind = 0, credential = 0, status = -1;
  int32_t used = -1, remaining = -1, count_ = -1;
  int64_t retry_after_ms = 0, at_ms = 0;
  // Not an event: the last item, which releases the function once the events before it are out.
  napi_threadsafe_function release_after = nullptr;

  explicit EventData(napi_threadsafe_function f) : release_after(f) {}
  explicit EventData(const verikit_event* e) : name(verikit_event_name(e)) {
    auto read = [e](int (*get)(const verikit_event*, const char**, size_t*)) {
      const char* d = nullptr;
      size_t n = 0;
      return get(e, &d, &n) == VERIKIT_OK ? std::string(d, n) : std::string();
    };
    purpose = read(verikit_event_purpose);
    identifier_tag = read(verikit_event_identifier_tag);
    identifier = read(verikit_event_identifier);
    client_tag = read(verikit_event_client_tag);
    verikit_event_kind(e, &kind);
    verikit_event_credential(e, &credential);
    verikit_event_status(e, &status);
    verikit_event_attempts(e, &used, &remaining);
    verikit_event_count(e, &count_);
    verikit_event_retry_after_ms(e, &retry_after_ms);
    verikit_event_at_ms(e, &at_ms);
  }

  // Raw Node-API calls, never throwing: while a worker or the process is exiting, JavaScript
  // can no longer run and every call fails; the event is then dropped, nothing else happens.
  bool call(napi_env env, napi_value emit) const {
    napi_value o, v, undefined, result;
    if (napi_create_object(env, &o) != napi_ok) return false;
    bool ok = true;
    auto set = [&](const char* key, napi_status made) { ok = ok && made == napi_ok && napi_set_named_property(env, o, key, v) == napi_ok; };
    auto text = [&](const std::string& t) { return napi_create_string_utf8(env, t.data(), t.size(), &v); };
    auto number = [&](double d) { return napi_create_double(env, d, &v); };
    auto count = [&](int64_t n) { return n < 0 ? napi_get_null(env, &v) : number(static_cast<double>(n)); };
    set("name", text(name));
    set("credential", text(verikit_credential_name(credential)));
    set("kind", text(verikit_kind_name(kind)));
    set("status", status < 0 ? napi_get_null(env, &v) : text(verikit_status_name(status)));
    set("purpose", text(purpose));
    set("identifierTag", text(identifier_tag));
    set("identifier", identifier.empty() ? napi_get_null(env, &v) : text(identifier));
    set("clientTag", text(client_tag));
    set("attemptsUsed", count(used));
    set("attemptsRemaining", count(remaining));
    set("retryAfter", number(static_cast<double>(retry_after_ms)));
    set("count", count(count_));
    set("at", napi_create_date(env, static_cast<double>(at_ms), &v));
    return ok && napi_get_undefined(env, &undefined) == napi_ok &&
           napi_call_function(env, undefined, emit, 1, &o, &result) == napi_ok;
  }
};

void call_emit(Napi::Env env, Napi::Function emit, std::nullptr_t*, EventData* data) {
  std::unique_ptr<EventData> owned(data);
  if (env == nullptr) return;  // torn down: nobody listens (and the function is going away)
  if (owned->release_after != nullptr) {
    napi_release_threadsafe_function(owned->release_after, napi_tsfn_release);
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (!owned->call(env, emit)) {  // JavaScript cannot run any more: the event is dropped
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);  // nothing may reach the exiting environment
    }
  }
  napi_close_handle_scope(env, scope);
}
using EventTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, EventData, call_emit>;

// The engine and what its completions share: the thread-safe function (referenced only while
// operations are in flight) and how many are. The engine is freed, and the function released,
// once the engine is closed and nothing is in flight: no callback can come after that, whatever
// verikit_engine_free does with calls in flight. Until then the Flight keeps itself (`self`),
// and every Op a share of it. `in_flight`, `closed`, `owner` and `engine` are touched on the JS
// thread only; verikit threads use the function under `mutex`, and only while `live`.
struct Flight {
  Tsfn tsfn;
  napi_env env = nullptr;
  std::thread::id js_thread;
  verikit_engine* engine = nullptr;
  int in_flight = 0;
  bool closed = false;
  Napi::Reference<Napi::Object>* owner = nullptr;  // the engine's JS object: kept alive while work is in flight
  std::shared_ptr<Flight> self;
  std::mutex mutex;
  bool live = true;                     // the function may be called (under mutex)
  std::atomic<bool> torn_down{false};   // the environment is going away: settle nothing

  // Events: the function that hands them to JS (never referenced), usable while `events_live`
  // (under events_mutex), and whether any listener wants them.
  EventTsfn events;
  std::mutex events_mutex;
  bool events_live = false;
  std::atomic<bool> listening{false};

  // The C event handler (`user` is the Flight, alive until the engine is freed).
  static void on_event(void* user, const verikit_event* e) noexcept {
    auto* f = static_cast<Flight*>(user);
    if (!f->listening.load(std::memory_order_relaxed) || f->torn_down.load(std::memory_order_acquire)) return;
    try {
      auto data = std::make_unique<EventData>(e);
      std::lock_guard<std::mutex> lock(f->events_mutex);
      if (f->events_live && f->events.NonBlockingCall(data.get()) == napi_ok) (void)data.release();
    } catch (...) {
      // Out of memory: the event is lost, the engine goes on.
    }
  }

  void start() {
    if (in_flight++ != 0) return;
    tsfn.Ref(env);
    if (owner != nullptr) owner->Ref();
  }
  void finish() {
    if (--in_flight != 0) return;
    if (owner != nullptr) owner->Unref();
    if (closed) release(false);
    else tsfn.Unref(env);
  }
  // close(): new calls are refused; calls in flight complete with their answer, then release().
  void close() {
    if (closed) return;
    closed = true;
    if (in_flight == 0) release(false);
  }
  void release(bool teardown) {
    if (engine == nullptr) return;
    auto keep = std::move(self);  // *this lives until the end of this function
    if (teardown) torn_down.store(true, std::memory_order_release);
    else napi_remove_env_cleanup_hook(env, &Flight::cleanup, this);
    {
      std::lock_guard<std::mutex> lock(mutex);
      live = false;
    }
    verikit_engine_free(engine);  // delivers the queued events to `events`, joins the event thread
    engine = nullptr;
    tsfn.Release();
    bool had_events = false;
    {
      std::lock_guard<std::mutex> lock(events_mutex);
      had_events = events_live;
      events_live = false;
    }
    if (!had_events) return;
    // Events handed over by the free above are still queued: the function is released after
    // them (a function released now would not call them). At teardown nothing is delivered.
    // Until then the function is referenced: close() delivers what the engine had queued.
    auto* last = teardown ? nullptr : new EventData(static_cast<napi_threadsafe_function>(events));
    if (last != nullptr) events.Ref(env);
    if (last == nullptr || events.NonBlockingCall(last) != napi_ok) {
      delete last;
      events.Release();
    }
  }
  // The environment is going away (process exit, worker termination): nothing is settled.
  static void cleanup(void* self) { static_cast<Flight*>(self)->release(true); }
};

// How an operation answers: a result, an inspect result (with counters), a flag or a count.
enum class Kind { result, inspect, flag, count };

// The `user` pointer of every C call: owns the Promise's deferred, the answer and a share of
// the Flight, so a callback on any thread touches nothing else.
struct Op {
  Op(Napi::Env env, std::shared_ptr<Flight> f, Kind k) : deferred(Napi::Promise::Deferred::New(env)), flight(std::move(f)), kind(k) {}
  ~Op() { verikit_result_free(result); }
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  Napi::Promise::Deferred deferred;
  std::shared_ptr<Flight> flight;
  Kind kind;
  int error = VERIKIT_OK;
  std::string message;
  bool message_lost = false;  // no memory to copy it on the engine's thread (keep_message)
  verikit_result* result = nullptr;
  int count = 0;
};

// The answer of a finished operation (JS thread); throws Napi::Error where making it throws.
Napi::Value answer(Napi::Env env, const Op& op) {
  switch (op.kind) {
    case Kind::result: return to_js(env, op.result, false);
    case Kind::inspect: return to_js(env, op.result, true);
    case Kind::flag: return Napi::Boolean::New(env, op.count != 0);
    case Kind::count: return Napi::Number::New(env, op.count);
  }
  return env.Undefined();
}

// Settles the Promise (JS thread) and ends the operation. Never throws: it runs inside the C
// callback (the embedded store answers before the call returns) and from the thread-safe
// function, where an exception would end the process. Making the answer may throw (the result
// factory throwing, a Node-API call refused): the Promise is rejected with that exception, so it
// still settles, once (the deferred is resolved or rejected at most once: the answer is made
// before either). A worker being terminated refuses to run JS at all: nobody can receive the
// answer then, and the operation just ends.
void settle(Napi::Env env, std::unique_ptr<Op> op) {
  try {
    Napi::HandleScope scope(env);
    if (op->error != VERIKIT_OK) {
      // (an error whose message could not be copied still says what it is)
      if (op->message.empty()) {
        try {
          op->message = std::string(verikit_error_name(op->error)) +
                        (op->message_lost ? " (its message was lost: out of memory)" : "");
        } catch (...) {
        }
      }
      op->deferred.Reject(make_error(env, op->error, op->message));
    } else {
      Napi::Value value;
      bool made = true;
      try {
        value = answer(env, *op);
      } catch (const Napi::Error& e) {
        made = false;
        op->deferred.Reject(e.Value());
      }
      if (made) op->deferred.Resolve(value);
    }
  } catch (const Napi::Error&) {
    // The environment is going away: the Promise stays pending with nobody left to await it.
  }
  op->flight->finish();
}

void call_js(Napi::Env env, Napi::Function, std::nullptr_t*, Op* op) {
  std::unique_ptr<Op> owned(op);
  if (env == nullptr) return;  // the environment is being torn down: nobody awaits it
  settle(env, std::move(owned));
}

// The C callbacks' common end: settle inline on the JS thread, else queue for it.
void complete(Op* op) {
  std::shared_ptr<Flight> f = op->flight;  // alive until this returns, whoever settles the Op
  if (f->torn_down.load(std::memory_order_acquire)) {
    delete op;
    return;
  }
  if (std::this_thread::get_id() == f->js_thread) return settle(Napi::Env(f->env), std::unique_ptr<Op>(op));
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(f->mutex);
    queued = f->live && f->tsfn.NonBlockingCall(op) == napi_ok;
  }
  if (!queued) delete op;  // only while the environment is torn down: nobody awaits it
}

// The error's message, copied for the JS thread; without memory for the copy the error keeps its
// code and says that its message was lost (settle): the Promise still settles, and nothing may
// leave a C callback.
void keep_message(Op* op, int error, const char* message) noexcept {
  if (error == VERIKIT_OK || message == nullptr) return;
  try {
    op->message = message;
  } catch (...) {
    op->message_lost = true;
  }
}

void on_result(void* user, int error, const char* message, verikit_result* result) {
  auto* op = static_cast<Op*>(user);
  op->error = error;
  op->result = result;
  keep_message(op, error, message);
  complete(op);
}

void on_count(void* user, int error, const char* message, int count) {
  auto* op = static_cast<Op*>(user);
  op->error = error;
  op->count = count;
  keep_message(op, error, message);
  complete(op);
}

// ---- argument conversion (bad types: a TypeError, before anything reaches the engine) ----

struct ArgError {
  std::string message;
  int code = 0;  // 0: a TypeError (a wrong type); else the verikit error of that code (a bad value)
};

// A string's UTF-8, read with one call into a stack buffer where it fits (Utf8Value asks V8 for
// the length first, a second pass over the string). Node writes at most kBuffer - 1 bytes and
// never part of a character, so a read that was cut off holds at least kBuffer - 4 bytes: one of
// kFits or fewer is the whole string. A longer one is read again at its full length.
std::string utf8_text(const Napi::String& s) {
  constexpr std::size_t kBuffer = 256, kFits = kBuffer - 5;
  char buf[kBuffer];
  std::size_t n = 0;
  if (napi_get_value_string_utf8(s.Env(), s, buf, kBuffer, &n) != napi_ok) throw Napi::Error::New(s.Env());
  if (n <= kFits) return std::string(buf, n);
  return s.Utf8Value();
}

// A string as UTF-8. A lone surrogate has no UTF-8 form: V8 writes U+FFFD for it, which would
// make two different strings (two identifiers) one, so it is refused. Only a string that comes
// out holding U+FFFD is read a second time, as UTF-16, to tell the two apart.
std::string utf8_arg(const Napi::String& s, const char* what) {
  std::string text = utf8_text(s);
  if (text.find("\xEF\xBF\xBD") == std::string::npos) return text;
  const std::u16string units = s.Utf16Value();
  for (std::size_t i = 0; i < units.size(); ++i) {
    const char16_t c = units[i];
    if (c < 0xD800 || c > 0xDFFF) continue;
    if (c <= 0xDBFF && i + 1 < units.size() && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF) {
      ++i;  // a pair
      continue;
    }
    throw ArgError{std::string(what) + " is not valid text: it holds a lone surrogate", VERIKIT_E_INVALID_ARGUMENT};
  }
  return text;
}

// Binary-safe bytes from a string (UTF-8) or a Buffer (any Uint8Array). Other views are refused
// as the types say: Node's IsBuffer() takes any view, and a DataView then failed inside the
// conversion (thrown, not rejected), a Float64Array passed its raw bytes (found by a review).
std::string bytes_arg(const Napi::Value& v, const char* what) {
  if (v.IsString()) return utf8_arg(v.As<Napi::String>(), what);
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto b = v.As<Napi::Uint8Array>();
    return std::string(reinterpret_cast<const char*>(b.Data()), b.ByteLength());
  }
  throw ArgError{std::string(what) + " must be a string or a Buffer"};
}

// Text goes to the C API as a NUL-terminated string: a NUL inside would cut it short silently.
std::string text_arg(const Napi::Value& v, const char* what, const char* expected = "a string") {
  if (!v.IsString()) throw ArgError{std::string(what) + " must be " + expected};
  std::string text = utf8_arg(v.As<Napi::String>(), what);
  if (text.find('\0') != std::string::npos)
    throw ArgError{std::string(what) + " must not contain a NUL character", VERIKIT_E_INVALID_ARGUMENT};
  return text;
}

// The JS error for a refused argument: a TypeError for a wrong type, else the verikit error.
Napi::Value arg_error(Napi::Env env, const ArgError& e) {
  return e.code == 0 ? Napi::TypeError::New(env, e.message).Value() : make_error(env, e.code, e.message);
}

void wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

// Issue and verify options; `c` points into this object, which outlives the call.
struct CallOptions {
  std::string payload;
  uint32_t ttl = 0;
  std::string client_key;
  std::string binding;
  verikit_issue_options issue = VERIKIT_ISSUE_OPTIONS_INIT;
  verikit_verify_options verify = VERIKIT_VERIFY_OPTIONS_INIT;
};

std::unique_ptr<CallOptions> options_arg(const Napi::Value& v) {
  auto o = std::make_unique<CallOptions>();
  if (!v.IsUndefined() && !v.IsNull()) {
    if (!v.IsObject()) throw ArgError{"options must be an object"};
    Napi::Object obj = v.As<Napi::Object>();
    Napi::Value payload = obj.Get("payload"), ttl = obj.Get("ttl"), client = obj.Get("clientKey"),
                binding = obj.Get("binding");
    if (!payload.IsUndefined()) o->payload = bytes_arg(payload, "payload");
    if (!ttl.IsUndefined()) {
      if (!ttl.IsNumber()) throw ArgError{"ttl must be a number of seconds"};
      const double t = ttl.As<Napi::Number>().DoubleValue();
      // The range (1 .. 30 days) is the core's to check; this only refuses what is not a count
      // (a number, but a bad value: InvalidArgumentError, as the core's range error).
      if (!(t > 0) || t > 9007199254740991.0 || t != static_cast<double>(static_cast<int64_t>(t)))
        throw ArgError{"ttl must be a positive whole number of seconds", VERIKIT_E_INVALID_ARGUMENT};
      o->ttl = t > 4294967295.0 ? UINT32_MAX : static_cast<uint32_t>(t);
    }
    if (!client.IsUndefined()) o->client_key = bytes_arg(client, "clientKey");
    if (!binding.IsUndefined() && !binding.IsNull()) {
      // The credential's condition, so it must say something: empty (a missing cookie written as
      // `cookie ?? ''`) would pass as no binding, and the credential verify under any (found by a
      // review). Omitted or null is no binding.
      o->binding = bytes_arg(binding, "binding");
      if (o->binding.empty())
        throw ArgError{"binding must not be empty: omit it (or pass null) for no binding", VERIKIT_E_INVALID_ARGUMENT};
    }
  }
  o->issue.payload = reinterpret_cast<const uint8_t*>(o->payload.data());
  o->issue.payload_len = o->payload.size();
  o->issue.ttl_seconds = o->ttl;
  o->issue.client_key = reinterpret_cast<const uint8_t*>(o->client_key.data());
  o->issue.client_key_len = o->client_key.size();
  o->verify.client_key = o->issue.client_key;
  o->verify.client_key_len = o->issue.client_key_len;
  o->issue.binding = o->verify.binding = reinterpret_cast<const uint8_t*>(o->binding.data());
  o->issue.binding_len = o->verify.binding_len = o->binding.size();
  return o;
}

// ---- configuration: policies by field name, in the schema's text forms ----

// A configuration call the C API refused: thrown as the documented error class.
struct ConfigCallError {
  int code;
  std::string message;
};

void check(int rc) {
  if (rc != VERIKIT_OK) throw ConfigCallError{rc, verikit_error_message()};
}

// maxAttempts -> max_attempts; resendSame -> resend_same.
std::string snake_case(const std::string& camel) {
  std::string out;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A JavaScript value in the schema's text form: the core parses and checks it (a number that is
// not a whole number, or out of range, is its error, not a silent conversion).
std::string field_text(const Napi::Value& v, bool choice, const std::string& name) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return v.ToString().Utf8Value();
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    return choice ? snake_case(s) : s;
  }
  if (v.IsObject() && !v.IsArray()) {
    Napi::Object l = v.As<Napi::Object>();
    std::string text;
    for (const char* part : {"count", "period", "burst"}) {
      Napi::Value x = l.Get(part);
      if (!x.IsNumber()) throw ArgError{name + "." + part + " must be a number"};
      text += (text.empty() ? "" : "/") + x.ToString().Utf8Value();
    }
    return text;
  }
  throw ArgError{name + " must be a boolean, a number, a string or {count, period, burst}"};
}

// Sets one policy (purpose NULL: the default policy) from a plain object, field by field.
void policy_arg(Napi::Env env, verikit_config* config, const char* purpose, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsObject()) throw ArgError{"a policy must be an object"};
  const auto& types = addon_data(env)->field_types;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  bool any = false;
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const Napi::Value value = o.Get(name);
    if (value.IsUndefined()) continue;
    const std::string field = snake_case(name);
    auto type = types.find(field);
    const std::string text = field_text(value, type != types.end() && type->second == "choice", name);
    if (verikit_config_set_policy_field(config, purpose, field.c_str(), text.c_str()) != VERIKIT_OK) {
      std::string message = verikit_error_message();
      if (field != name) message += " (option '" + name + "')";  // the name the caller wrote
      throw ConfigCallError{verikit_error_code(), std::move(message)};
    }
    any = true;
  }
  // A purpose given with no fields has a policy of its own: the documented defaults.
  if (!any && purpose != nullptr) {
    const verikit_policy defaults = VERIKIT_POLICY_INIT;
    check(verikit_config_set_policy(config, purpose, &defaults));
  }
}

std::string key_arg(const Napi::Value& v) {
  std::string raw = bytes_arg(v, "key");
  if (raw.size() != VERIKIT_KEY_BYTES) {
    wipe(raw);
    throw ArgError{"a key must be exactly 32 bytes"};
  }
  return raw;
}

// A key id is a whole number 0..255 (it is stored as one byte): anything else is refused, never
// wrapped or rounded.
uint8_t key_id_arg(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return VERIKIT_DEFAULT_KEY_ID;
  if (!v.IsNumber()) throw ArgError{"a key id must be a number"};
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 255) || d != static_cast<double>(static_cast<int>(d)))
    throw ConfigCallError{VERIKIT_E_INVALID_ARGUMENT, "a key id must be a whole number from 0 to 255, not " +
                                                          v.ToString().Utf8Value()};
  return static_cast<uint8_t>(d);
}

void set_key(verikit_config* config, const Napi::Value& key, const Napi::Value& id, bool previous) {
  std::string raw = key_arg(key);
  const uint8_t key_id = key_id_arg(id);
  const auto* bytes = reinterpret_cast<const uint8_t*>(raw.data());
  const int rc = previous ? verikit_config_add_previous_key(config, key_id, bytes, raw.size())
                          : verikit_config_set_key(config, key_id, bytes, raw.size());
  wipe(raw);
  check(rc);
}

using ConfigPtr = std::unique_ptr<verikit_config, decltype(&verikit_config_free)>;

// A JavaScript value in the text form of an engine option, by the type the schema gives it: a
// boolean for boolean options, a whole number for integer ones (an out-of-range one is the
// core's ConfigError), a string, an array of strings for lists. A wrong type is a TypeError.
std::string option_text(const Napi::Value& v, const std::string& type, const std::string& name) {
  if (type == "boolean") {
    if (!v.IsBoolean()) throw ArgError{name + " must be a boolean"};
    return v.As<Napi::Boolean>().Value() ? "true" : "false";
  }
  if (type == "integer") {
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
    if (!std::isfinite(d) || d != std::trunc(d)) throw ArgError{name + " must be a whole number"};
    char digits[400];
    std::snprintf(digits, sizeof digits, "%.0f", d);  // every digit (the core saturates huge ones)
    return digits;
  }
  if (type == "list") {
    if (!v.IsArray()) throw ArgError{name + " must be an array of strings"};
    Napi::Array items = v.As<Napi::Array>();
    std::string text;
    for (uint32_t i = 0; i < items.Length(); ++i) {
      const std::string item = text_arg(items.Get(i), name.c_str(), "an array of strings");
      if (item.find(',') != std::string::npos)
        throw ArgError{name + ": an item may not contain ','", VERIKIT_E_INVALID_ARGUMENT};
      text += (text.empty() ? "" : ",") + item;
    }
    return text;
  }
  if (type == "text") return text_arg(v, name.c_str());
  return "";  // an option the core does not know: it refuses the name
}

// The engine options ({keyPrefix, abuseControls, linkOrigins, ...}: every Manager option that is
// not key material, the store or a policy), each set by name in the core (camelCase ->
// snake_case); undefined and null keep the core's default.
void options_arg(Napi::Env env, verikit_config* config, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return;
  if (!v.IsObject()) throw ArgError{"options must be an object"};
  const auto& types = addon_data(env)->option_types;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const Napi::Value value = o.Get(name);
    if (value.IsUndefined() || value.IsNull()) continue;
    const std::string option = snake_case(name);
    auto type = types.find(option);
    const std::string text = option_text(value, type == types.end() ? "" : type->second, name);
    if (verikit_config_set_option(config, option.c_str(), text.c_str()) != VERIKIT_OK) {
      std::string message = verikit_error_message();
      if (option != name) message += " (option '" + name + "')";  // the name the caller wrote
      throw ConfigCallError{verikit_error_code(), std::move(message)};
    }
  }
}

// new Engine(store, key|null, keyId, previousKeys[[id, key]], defaultPolicy, policies{}, options{}, indexKey|null,
//            emit|undefined)
ConfigPtr config_arg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  verikit_config* raw = nullptr;
  check(verikit_config_new(&raw));
  ConfigPtr config(raw, &verikit_config_free);
  if (!info[0].IsUndefined() && !info[0].IsNull())
    check(verikit_config_set_store(config.get(), text_arg(info[0], "store").c_str()));
  if (!info[1].IsNull() && !info[1].IsUndefined()) {
    set_key(config.get(), info[1], info[2], false);
    if (!info[3].IsArray()) throw ArgError{"previousKeys must be an array of [id, key]"};
    Napi::Array prev = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < prev.Length(); ++i) {
      if (!prev.Get(i).IsArray()) throw ArgError{"previousKeys must be an array of [id, key]"};
      Napi::Array pair = prev.Get(i).As<Napi::Array>();
      set_key(config.get(), pair.Get(1u), pair.Get(0u), true);
    }
    if (info.Length() > 7 && !info[7].IsNull() && !info[7].IsUndefined()) {
      std::string index = key_arg(info[7]);
      const int rc = verikit_config_set_index_key(config.get(), reinterpret_cast<const uint8_t*>(index.data()), index.size());
      wipe(index);
      check(rc);
    }
  }
  policy_arg(env, config.get(), nullptr, info[4]);
  if (!info[5].IsObject()) throw ArgError{"policies must be an object"};
  Napi::Object policies = info[5].As<Napi::Object>();
  Napi::Array names = policies.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    policy_arg(env, config.get(), name.c_str(), policies.Get(name));
  }
  options_arg(env, config.get(), info[6]);
  return config;
}

// ---- the engine ----

class EngineWrap;

// Engine.open(): verikit_engine_new on libuv's thread pool, then the Engine object made on the
// JS thread, which takes the engine over (hand_over). An engine created for an environment
// that went away meanwhile (a worker terminated: its completion never runs) is freed with this.
class Opening : public Napi::AsyncWorker {
 public:
  Opening(Napi::Env env, ConfigPtr config, std::shared_ptr<Flight> flight, Napi::Function events)
      : Napi::AsyncWorker(env, "verikit-open"),
        deferred_(Napi::Promise::Deferred::New(env)),
        config_(std::move(config)),
        flight_(std::move(flight)) {
    if (!events.IsEmpty()) events_ = Napi::Persistent(events);
  }
  ~Opening() override {
    if (engine_ != nullptr) verikit_engine_free(engine_);
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

  // (libuv's pool: C calls only)
  void Execute() override {
    error_ = verikit_engine_new(&engine_, config_.get());
    if (error_ != VERIKIT_OK) message_ = verikit_error_message();
    config_.reset();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (error_ != VERIKIT_OK) {
      deferred_.Reject(make_error(env, error_, message_));
      return;
    }
    Napi::Value made;
    try {
      made = addon_data(env)->engine_ctor.New({Napi::External<Opening>::New(env, this)});
    } catch (const Napi::Error& e) {  // (the object could not be made: the engine is freed with this)
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(made);
  }

  inline void hand_over(Napi::Env env, EngineWrap& to);

 private:
  Napi::Promise::Deferred deferred_;
  ConfigPtr config_;
  std::shared_ptr<Flight> flight_;
  Napi::FunctionReference events_;
  verikit_engine* engine_ = nullptr;
  int error_ = VERIKIT_OK;
  std::string message_;
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {InstanceMethod("issueOtp", &EngineWrap::IssueOtp), InstanceMethod("verifyOtp", &EngineWrap::VerifyOtp),
                        InstanceMethod("issueToken", &EngineWrap::IssueToken),
                        InstanceMethod("issueLink", &EngineWrap::IssueLink),
                        InstanceMethod("checkToken", &EngineWrap::CheckToken),
                        InstanceMethod("revokeToken", &EngineWrap::RevokeToken),
                        InstanceMethod("revokeOtp", &EngineWrap::RevokeOtp),
                        InstanceMethod("revokeAll", &EngineWrap::RevokeAll),
                        InstanceMethod("inspect", &EngineWrap::Inspect),
                        InstanceMethod("unlock", &EngineWrap::Unlock),
                        InstanceMethod("generateRecoveryCodes", &EngineWrap::GenerateRecoveryCodes),
                        InstanceMethod("useRecoveryCode", &EngineWrap::UseRecoveryCode),
                        InstanceMethod("recoveryCodesRemaining", &EngineWrap::RecoveryCodesRemaining),
                        InstanceMethod("enrollTotp", &EngineWrap::EnrollTotp),
                        InstanceMethod("verifyTotp", &EngineWrap::VerifyTotp),
                        InstanceMethod("beginTotpEnrollment", &EngineWrap::BeginTotpEnrollment),
                        InstanceMethod("confirmTotpEnrollment", &EngineWrap::ConfirmTotpEnrollment),
                        InstanceMethod("revokeSecondFactors", &EngineWrap::RevokeSecondFactors),
                        InstanceMethod("close", &EngineWrap::Close),
                        InstanceMethod("metrics", &EngineWrap::Metrics),
                        InstanceMethod("setListening", &EngineWrap::SetListening),
                        InstanceMethod("eventCounts", &EngineWrap::EventCounts), StaticMethod("open", &EngineWrap::Open)});
  }

  // new Engine(store, key, ...): creates the engine here (on Redis: connects, blocking).
  // new Engine(External): the engine open() created (an Opening, which hands it over).
  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() == 1 && info[0].IsExternal()) {
      info[0].As<Napi::External<Opening>>().Data()->hand_over(env, *this);
      return;
    }
    verikit_engine* engine = nullptr;
    auto flight = std::make_shared<Flight>();  // the event handler's `user`, before the engine
    const bool with_events = info.Length() > 8 && info[8].IsFunction();
    try {
      ConfigPtr config = config_arg(info);
      if (with_events) check(verikit_config_set_event_handler(config.get(), &Flight::on_event, flight.get()));
      check(verikit_engine_new(&engine, config.get()));
    } catch (const ArgError& e) {
      Napi::Error(env, arg_error(env, e)).ThrowAsJavaScriptException();
      return;
    } catch (const ConfigCallError& e) {
      Napi::Error(env, make_error(env, e.code, e.message)).ThrowAsJavaScriptException();
      return;
    }
    adopt(env, std::move(flight), engine, with_events ? info[8].As<Napi::Function>() : Napi::Function());
  }

  // Engine.open(store, key, ...): a Promise of an Engine, created on libuv's thread pool (on
  // Redis the connection and the start-up checks take up to connect_timeout_ms: the event loop
  // runs meanwhile). Bad arguments throw here, as the constructor's do (Manager.open rejects).
  static Napi::Value Open(const Napi::CallbackInfo& info);

  // The engine and its Flight become this object's (`events`: the listener function, or empty).
  void adopt(Napi::Env env, std::shared_ptr<Flight> flight, verikit_engine* engine, Napi::Function events) {
    flight_ = std::move(flight);
    flight_->self = flight_;
    if (!events.IsEmpty()) {
      // (under events_mutex: an engine made by open() already runs its event thread, which reads
      // these once a listener is added)
      std::lock_guard<std::mutex> lock(flight_->events_mutex);
      flight_->events = EventTsfn::New(env, events, "verikit-events", 0, 1);
      flight_->events.Unref(env);  // events never keep the process alive
      flight_->events_live = true;
    }
    flight_->engine = engine;
    flight_->env = env;
    flight_->js_thread = std::this_thread::get_id();
    flight_->owner = this;  // the ObjectWrap's reference to this object
    flight_->tsfn = Tsfn::New(env, "verikit", 0, 1);
    flight_->tsfn.Unref(env);
    napi_add_env_cleanup_hook(env, &Flight::cleanup, flight_.get());
  }

  // Unreachable means nothing is in flight (start() holds the object): the engine is freed now.
  ~EngineWrap() override {
    if (!flight_) return;
    flight_->owner = nullptr;
    flight_->close();
  }

 private:
  // close(): later calls reject; operations in flight settle with their answers, and the engine
  // is freed after the last one (Flight::finish). Never blocks, never drops a Promise.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (flight_ && !flight_->closed) {
      if (flight_->in_flight > 0 && flight_->owner != nullptr) Unref();  // start()'s hold on this object
      flight_->owner = nullptr;
      flight_->close();
    }
    return info.Env().Undefined();
  }

  // setListening(bool): whether events are copied and sent to JS at all (no listener: dropped at once).
  Napi::Value SetListening(const Napi::CallbackInfo& info) {
    if (flight_) flight_->listening.store(info[0].ToBoolean().Value(), std::memory_order_relaxed);
    return info.Env().Undefined();
  }

  // eventCounts(): [delivered, dropped] as the engine counts them (delivered: handed to the handler).
  Napi::Value EventCounts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t delivered = 0, dropped = 0;
    if (!flight_ || flight_->closed || flight_->engine == nullptr) {
      Napi::Error(env, make_error(env, VERIKIT_E_INVALID_ARGUMENT, "the engine is closed")).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    verikit_engine_event_counts(flight_->engine, &delivered, &dropped);
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, static_cast<double>(delivered)));
    out.Set(1u, Napi::Number::New(env, static_cast<double>(dropped)));
    return out;
  }

  // The engine's counters (Prometheus text): synchronous, no I/O.
  Napi::Value Metrics(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!flight_ || flight_->closed || flight_->engine == nullptr) {
      Napi::Error(env, make_error(env, VERIKIT_E_INVALID_ARGUMENT, "the engine is closed")).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    size_t needed = 0;
    verikit_engine_metrics(flight_->engine, nullptr, 0, &needed);  // asks for the size
    std::string text;
    for (int tries = 0; tries < 4; ++tries) {  // the text may grow between the two calls
      text.resize(needed);
      if (verikit_engine_metrics(flight_->engine, text.data(), text.size(), &needed) == VERIKIT_OK)
        return Napi::String::New(env, text.data(), needed - 1);
    }
    Napi::Error(env, last_error(env, VERIKIT_E_INTERNAL)).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // The common shape: arguments converted, then one C call that owns `op` from then on.
  template <class Args, class CCall>
  Napi::Value run(const Napi::CallbackInfo& info, Kind kind, Args&& args, CCall&& c_call) {
    Napi::Env env = info.Env();
    if (!flight_ || flight_->closed) {
      auto d = Napi::Promise::Deferred::New(env);
      d.Reject(make_error(env, VERIKIT_E_INVALID_ARGUMENT, "the engine is closed"));
      return d.Promise();
    }
    auto op = std::make_unique<Op>(env, flight_, kind);
    Napi::Promise promise = op->deferred.Promise();
    try {
      auto a = args();  // before anything reaches the engine
      Op* raw = op.release();
      flight_->start();
      if (c_call(a, raw) != VERIKIT_OK) {  // only a NULL engine or callback: never called back
        std::unique_ptr<Op> owned(raw);
        owned->error = verikit_error_code();
        owned->message = verikit_error_message();
        settle(env, std::move(owned));
      }
    } catch (const ArgError& e) {
      op->deferred.Reject(arg_error(env, e));
    } catch (const Napi::Error& e) {  // a getter or a Proxy of the arguments threw: a rejection too
      if (!op) throw;                 // (args() is done: nothing after it throws one)
      op->deferred.Reject(e.Value());
    }
    return promise;
  }

  struct PurposeId {
    std::string purpose, identifier;
  };
  static PurposeId purpose_id(const Napi::CallbackInfo& info) {
    PurposeId a;
    a.purpose = text_arg(info[0], "purpose");
    a.identifier = bytes_arg(info[1], "identifier");
    return a;
  }

  Napi::Value IssueOtp(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] { return A{purpose_id(info), options_arg(info[2])}; }, [&](A& a, Op* op) {
      return verikit_otp_issue_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                     &a.o->issue, on_result, op);
    });
  }

  Napi::Value VerifyOtp(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string code; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      std::string code = text_arg(info[2], "code");
      return A{std::move(p), std::move(code), options_arg(info[3])};
    }, [&](A& a, Op* op) {
      return verikit_otp_verify_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                      a.code.data(), a.code.size(), &a.o->verify, on_result, op);
    });
  }

  Napi::Value IssueToken(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] { return A{purpose_id(info), options_arg(info[2])}; }, [&](A& a, Op* op) {
      return verikit_token_issue_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                       &a.o->issue, on_result, op);
    });
  }

  Napi::Value IssueLink(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string base; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      std::string base = text_arg(info[2], "baseUrl");
      return A{std::move(p), std::move(base), options_arg(info[3])};
    }, [&](A& a, Op* op) {
      return verikit_link_issue_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                      a.base.c_str(), &a.o->issue, on_result, op);
    });
  }

  // checkToken(token, purpose, link: bool, consume: bool, options?: {binding}): the purpose is
  // required ('*' for any). Consuming takes the flow binding; peeking ignores bindings.
  Napi::Value CheckToken(const Napi::CallbackInfo& info) {
    struct A { std::string token, purpose; bool link, consume; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] {
      std::string t = text_arg(info[0], "token");
      std::string p = text_arg(info[1], "purpose", "a string: the credential's purpose, or ANY_PURPOSE ('*')");
      return A{std::move(t), std::move(p), info[2].ToBoolean().Value(), info[3].ToBoolean().Value(),
               options_arg(info[4])};
    }, [&](A& a, Op* op) {
      const char* p = a.purpose.c_str();
      if (a.link)
        return a.consume ? verikit_link_consume_ext_async(engine(), p, a.token.data(), a.token.size(), &a.o->verify, on_result, op)
                         : verikit_link_peek_async(engine(), p, a.token.data(), a.token.size(), on_result, op);
      return a.consume ? verikit_token_verify_ext_async(engine(), p, a.token.data(), a.token.size(), &a.o->verify, on_result, op)
                       : verikit_token_peek_async(engine(), p, a.token.data(), a.token.size(), on_result, op);
    });
  }

  // revokeToken(token, link: bool)
  Napi::Value RevokeToken(const Napi::CallbackInfo& info) {
    struct A { std::string token; bool link; };
    return run(info, Kind::flag, [&] { return A{text_arg(info[0], "token"), info[1].ToBoolean().Value()}; },
               [&](A& a, Op* op) {
                 return a.link ? verikit_link_revoke_async(engine(), a.token.data(), a.token.size(), on_count, op)
                               : verikit_token_revoke_async(engine(), a.token.data(), a.token.size(), on_count, op);
               });
  }

  Napi::Value RevokeOtp(const Napi::CallbackInfo& info) {
    return run(info, Kind::flag, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_otp_revoke_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(), on_count, op);
    });
  }

  Napi::Value RevokeAll(const Napi::CallbackInfo& info) {
    return run(info, Kind::count, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_revoke_all_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(), on_count, op);
    });
  }

  Napi::Value Inspect(const Napi::CallbackInfo& info) {
    return run(info, Kind::inspect, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_inspect_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(), on_result, op);
    });
  }

  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    return run(info, Kind::flag, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_unlock_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(), on_count, op);
    });
  }

  // --- recovery codes ---
  Napi::Value GenerateRecoveryCodes(const Napi::CallbackInfo& info) {
    return run(info, Kind::result, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_recovery_generate_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(),
                                             on_result, op);
    });
  }

  // useRecoveryCode(purpose, identifier, code, options?: {clientKey})
  Napi::Value UseRecoveryCode(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string code; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      std::string code = text_arg(info[2], "code");
      return A{std::move(p), std::move(code), options_arg(info[3])};
    }, [&](A& a, Op* op) {
      return verikit_recovery_use_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                        a.code.data(), a.code.size(), &a.o->verify, on_result, op);
    });
  }

  // enrollTotp(purpose, identifier, issuer)
  Napi::Value EnrollTotp(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string issuer; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      return A{std::move(p), text_arg(info[2], "issuer")};
    }, [&](A& a, Op* op) {
      return verikit_totp_enroll_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                       a.issuer.c_str(), on_result, op);
    });
  }

  // verifyTotp(purpose, identifier, code, options?: {clientKey})
  Napi::Value VerifyTotp(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string code; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      std::string code = text_arg(info[2], "code");
      return A{std::move(p), std::move(code), options_arg(info[3])};
    }, [&](A& a, Op* op) {
      return verikit_totp_verify_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                       a.code.data(), a.code.size(), &a.o->verify, on_result, op);
    });
  }

  // beginTotpEnrollment(purpose, identifier, issuer)
  Napi::Value BeginTotpEnrollment(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string issuer; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      return A{std::move(p), text_arg(info[2], "issuer")};
    }, [&](A& a, Op* op) {
      return verikit_totp_begin_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                      a.issuer.c_str(), on_result, op);
    });
  }

  // confirmTotpEnrollment(purpose, identifier, pending, code, options?: {clientKey})
  Napi::Value ConfirmTotpEnrollment(const Napi::CallbackInfo& info) {
    struct A { PurposeId p; std::string pending, code; std::unique_ptr<CallOptions> o; };
    return run(info, Kind::result, [&] {
      PurposeId p = purpose_id(info);
      std::string pending = text_arg(info[2], "pending");
      std::string code = text_arg(info[3], "code");
      return A{std::move(p), std::move(pending), std::move(code), options_arg(info[4])};
    }, [&](A& a, Op* op) {
      return verikit_totp_confirm_async(engine(), a.p.purpose.c_str(), a.p.identifier.data(), a.p.identifier.size(),
                                        a.pending.data(), a.pending.size(), a.code.data(), a.code.size(),
                                        &a.o->verify, on_result, op);
    });
  }

  Napi::Value RecoveryCodesRemaining(const Napi::CallbackInfo& info) {
    return run(info, Kind::count, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_recovery_remaining_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(),
                                              on_count, op);
    });
  }

  Napi::Value RevokeSecondFactors(const Napi::CallbackInfo& info) {
    return run(info, Kind::count, [&] { return purpose_id(info); }, [&](PurposeId& a, Op* op) {
      return verikit_revoke_second_factors_async(engine(), a.purpose.c_str(), a.identifier.data(), a.identifier.size(),
                                                 on_count, op);
    });
  }

  verikit_engine* engine() const { return flight_->engine; }

  std::shared_ptr<Flight> flight_;  // the engine lives there
};

void Opening::hand_over(Napi::Env env, EngineWrap& to) {
  to.adopt(env, std::move(flight_), std::exchange(engine_, nullptr),
           events_.IsEmpty() ? Napi::Function() : events_.Value());
}

Napi::Value EngineWrap::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto flight = std::make_shared<Flight>();  // the event handler's `user`, before the engine
  const bool with_events = info.Length() > 8 && info[8].IsFunction();
  ConfigPtr config(nullptr, &verikit_config_free);
  try {
    config = config_arg(info);
    if (with_events) check(verikit_config_set_event_handler(config.get(), &Flight::on_event, flight.get()));
  } catch (const ArgError& e) {
    Napi::Error(env, arg_error(env, e)).ThrowAsJavaScriptException();
    return env.Undefined();
  } catch (const ConfigCallError& e) {
    Napi::Error(env, make_error(env, e.code, e.message)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* opening = new Opening(env, std::move(config), std::move(flight),
                              with_events ? info[8].As<Napi::Function>() : Napi::Function());
  Napi::Promise promise = opening->promise();
  opening->Queue();  // (deleted by node-addon-api once its completion has run)
  return promise;
}

class Addon : public Napi::Addon<Addon>, public AddonData {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    // The policy schema's field types, once: choice values are converted to snake_case.
    for (size_t i = 0; i < verikit_policy_field_count(); ++i) {
      const char* name = nullptr;
      const char* type = nullptr;
      if (verikit_policy_field(i, &name, &type, nullptr, nullptr, nullptr, nullptr) == VERIKIT_OK) field_types[name] = type;
    }
    for (size_t i = 0; i < verikit_config_option_count(); ++i) {  // and the engine options'
      const char* name = nullptr;
      const char* type = nullptr;
      if (verikit_config_option(i, &name, &type, nullptr, nullptr, nullptr) == VERIKIT_OK) option_types[name] = type;
    }
    engine_ctor = Napi::Persistent(EngineWrap::Define(env));
    DefineAddon(exports, {InstanceValue("Engine", engine_ctor.Value()),
                          InstanceMethod("setErrorClasses", &Addon::SetErrorClasses),
                          InstanceMethod("setResultFactory", &Addon::SetResultFactory),
                          InstanceMethod("generateKey", &Addon::GenerateKey),
                          InstanceValue("errorKinds", ErrorKinds(env)),
                          InstanceValue("resultFields", ResultFields(env)),
                          InstanceValue("statuses", Statuses(env)),
                          InstanceValue("policyFields", PolicyFields(env)),
                          InstanceValue("configOptions", ConfigOptions(env)),
                          InstanceValue("version", Napi::String::New(env, verikit_version()))});
  }

 private:
  // setErrorClasses(base, {code: Class}) — the Error subclasses and their codes are defined in JS.
  Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
    AddonData* data = this;
    data->error_base = Napi::Persistent(info[0].As<Napi::Function>());
    Napi::Object map = info[1].As<Napi::Object>();
    Napi::Array keys = map.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      int code = std::stoi(keys.Get(i).As<Napi::String>().Utf8Value());
      data->errors[code] = Napi::Persistent(map.Get(keys.Get(i)).As<Napi::Function>());
    }
    return info.Env().Undefined();
  }

  // The core's schema, which index.js turns into the error classes: [{code, name, className,
  // parent, doc}] and [{name, ok, doc}] (a status's value is its index).
  static Napi::Array ErrorKinds(Napi::Env env) {
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < verikit_error_kind_count(); ++i) {
      int code = 0, parent = 0;
      const char *name = "", *cls = "", *doc = "";
      verikit_error_kind(i, &code, &name, &cls, &parent, &doc);
      Napi::Object k = Napi::Object::New(env);
      k.Set("code", code), k.Set("name", name), k.Set("className", cls), k.Set("parent", parent), k.Set("doc", doc);
      out.Set(static_cast<uint32_t>(i), k);
    }
    return out;
  }
  static Napi::Array ResultFields(Napi::Env env) {
    Napi::Array out = Napi::Array::New(env);
    for (uint32_t i = 0; i < kPropCount; ++i) out.Set(i, kPropNames[i]);
    return out;
  }
  // One entry of a schema: {name, type, min, max} (snake_case names).
  static Napi::Object SchemaEntry(Napi::Env env, const char* name, const char* type, int64_t lo, int64_t hi) {
    Napi::Object f = Napi::Object::New(env);
    f.Set("name", name), f.Set("type", type), f.Set("min", static_cast<double>(lo)), f.Set("max", static_cast<double>(hi));
    return f;
  }

  // The policy schema (verikit_policy_field): entries with their choices ("a|b" or "").
  static Napi::Array PolicyFields(Napi::Env env) {
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < verikit_policy_field_count(); ++i) {
      const char *name = "", *type = "", *choices = "";
      int64_t lo = 0, hi = 0;
      verikit_policy_field(i, &name, &type, &lo, &hi, &choices, nullptr);
      Napi::Object f = SchemaEntry(env, name, type, lo, hi);
      f.Set("choices", choices);
      out.Set(static_cast<uint32_t>(i), f);
    }
    return out;
  }

  // The engine-option schema (verikit_config_option): entries with their description.
  static Napi::Array ConfigOptions(Napi::Env env) {
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < verikit_config_option_count(); ++i) {
      const char *name = "", *type = "", *doc = "";
      int64_t lo = 0, hi = 0;
      verikit_config_option(i, &name, &type, &lo, &hi, &doc);
      Napi::Object f = SchemaEntry(env, name, type, lo, hi);
      f.Set("doc", doc);
      out.Set(static_cast<uint32_t>(i), f);
    }
    return out;
  }

  static Napi::Array Statuses(Napi::Env env) {
    Napi::Array out = Napi::Array::New(env);
    for (size_t i = 0; i < verikit_status_count(); ++i) {
      int ok = 0;
      const char *name = "", *doc = "";
      verikit_status_info(i, &name, &ok, &doc);
      Napi::Object st = Napi::Object::New(env);
      st.Set("name", name), st.Set("ok", ok == 1), st.Set("doc", doc);
      out.Set(static_cast<uint32_t>(i), st);
    }
    return out;
  }

  // setResultFactory(fn): fn(...values in the order of resultFields) returns a result object.
  Napi::Value SetResultFactory(const Napi::CallbackInfo& info) {
    if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "a result factory must be a function");
    make_result = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  }

  Napi::Value GenerateKey(const Napi::CallbackInfo& info) {
    uint8_t key[VERIKIT_KEY_BYTES];
    if (int rc = verikit_key_generate(key, sizeof key); rc != VERIKIT_OK) {
      Napi::Error(info.Env(), last_error(info.Env(), rc)).ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    auto b = Napi::Buffer<char>::Copy(info.Env(), reinterpret_cast<const char*>(key), sizeof key);
    volatile uint8_t* p = key;
    for (size_t i = 0; i < sizeof key; ++i) p[i] = 0;
    return b;
  }
};

AddonData* addon_data(Napi::Env env) { return env.GetInstanceData<Addon>(); }

}  // namespace

NODE_API_ADDON(Addon)
