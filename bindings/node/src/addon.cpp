// verikit Node.js addon (node-addon-api, Node-API 8). Thin: arguments are converted once,
// every operation returns a Promise, and completions from the engine's threads reach JS through
// one ThreadSafeFunction per engine (referenced only while operations are in flight), the one
// path for every operation: no work runs on the libuv pool. Every rule and default lives in
// the core.
#include <napi.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <variant>

#include "verikit/verikit.hpp"

using namespace verikit;

namespace {

struct Flight;

// What an operation completes with: a result, a flag (revoke, unlock) or a count (revokeAll).
using Answer = std::variant<Result, bool, int>;

struct Completion {
  Napi::Promise::Deferred deferred;
  Expected<Answer> result;
  std::shared_ptr<Flight> flight;
};

class EngineWrap;

// Per-environment state (worker-thread safe: no globals).
// Property names of result objects, in the order to_js defines them.
enum Prop { kStatus, kOk, kSecret, kUrl, kPurpose, kIdentifier, kPayload, kExpiresAt, kAttempts, kRetryAfter,
            kActiveTokens, kCounters, kReused, kPropCount };
constexpr const char* kPropNames[kPropCount] = {"status", "ok", "secret", "url", "purpose", "identifier", "payload",
                                                "expiresAt", "attemptsRemaining", "retryAfter", "activeTokens", "counters",
                                                "reused"};

struct AddonData {
  Napi::FunctionReference engine_ctor;
  std::map<int, Napi::FunctionReference> errors;  // Errc -> Error subclass (set from JS)
  Napi::FunctionReference error_base;
};

// The addon instance holds the per-environment state (defined below).
AddonData* addon_data(Napi::Env env);

Napi::Value make_error(Napi::Env env, const Error& e) {
  auto* data = addon_data(env);
  Napi::Object err;
  auto it = data->errors.find(static_cast<int>(e.code));
  if (it != data->errors.end()) err = it->second.New({Napi::String::New(env, e.message)});
  else if (!data->error_base.IsEmpty()) err = data->error_base.New({Napi::String::New(env, e.message)});
  else err = Napi::Error::New(env, e.message).Value();
  err.Set("code", Napi::String::New(env, [&] {
    switch (e.code) {
      case Errc::invalid_argument: return "VERIKIT_E_INVALID_ARGUMENT";
      case Errc::config: return "VERIKIT_E_CONFIG";
      case Errc::store_unavailable: return "VERIKIT_E_STORE_UNAVAILABLE";
      case Errc::store_protocol: return "VERIKIT_E_STORE_PROTOCOL";
      case Errc::timeout: return "VERIKIT_E_TIMEOUT";
      case Errc::no_memory: return "VERIKIT_E_NO_MEMORY";
      case Errc::unsupported: return "VERIKIT_E_UNSUPPORTED";
      case Errc::version_mismatch: return "VERIKIT_E_VERSION";
      case Errc::crypto: return "VERIKIT_E_CRYPTO";
      default: return "VERIKIT_E_INTERNAL";
    }
  }()));
  return err;
}

Napi::Value date_or_null(Napi::Env env, const std::optional<TimePoint>& t) {
  if (!t) return env.Null();
  return Napi::Date::New(env, static_cast<double>(t->time_since_epoch().count()));
}

Napi::Object to_js(Napi::Env env, const Result& r) {
  // All plain properties defined in one Node-API call.
  napi_value values[kPropCount] = {
      Napi::String::New(env, to_string(r.outcome)),
      Napi::Boolean::New(env, r.ok()),
      Napi::String::New(env, r.secret.data(), r.secret.size()),
      Napi::String::New(env, r.url),
      Napi::String::New(env, r.purpose),
      Napi::String::New(env, r.identifier),
      Napi::Buffer<char>::Copy(env, r.payload.data(), r.payload.size()),
      date_or_null(env, r.expires_at),
      r.attempts_remaining < 0 ? env.Null() : Napi::Number::New(env, r.attempts_remaining),
      Napi::Number::New(env, static_cast<double>(r.retry_after.count())),
      r.active_tokens < 0 ? env.Null() : Napi::Number::New(env, r.active_tokens),
      env.Null(),
      Napi::Boolean::New(env, r.reused),
  };
  napi_property_descriptor props[kPropCount];
  for (int i = 0; i < kPropCount; ++i)
    props[i] = napi_property_descriptor{kPropNames[i], nullptr, nullptr, nullptr, nullptr, values[i],
                                        static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable),
                                        nullptr};
  Napi::Object o = Napi::Object::New(env);
  napi_define_properties(env, o, kPropCount, props);
  if (!r.counters) return o;
  {
    const Counters& c = *r.counters;
    Napi::Object k = Napi::Object::New(env);
    k.Set("failures", c.failures);
    k.Set("failuresResetAt", date_or_null(env, c.failures_reset_at));
    k.Set("lockedUntil", date_or_null(env, c.locked_until));
    k.Set("guessesAvailable", c.guesses_available < 0 ? env.Null() : Napi::Number::New(env, c.guesses_available));
    k.Set("cooldownUntil", date_or_null(env, c.cooldown_until));
    k.Set("sendsAvailable", c.sends_available < 0 ? env.Null() : Napi::Number::New(env, c.sends_available));
    k.Set("sendLimitResetAt", date_or_null(env, c.send_limit_reset_at));
    o.Set("counters", k);
  }
  return o;
}

Napi::Value to_js(Napi::Env env, const Answer& a) {
  if (const auto* r = std::get_if<Result>(&a)) return to_js(env, *r);
  if (const auto* b = std::get_if<bool>(&a)) return Napi::Boolean::New(env, *b);
  return Napi::Number::New(env, std::get<int>(a));
}

void settle(Napi::Env env, Completion& c) {
  if (c.result) c.deferred.Resolve(to_js(env, c.result.value()));
  else c.deferred.Reject(make_error(env, c.result.error()));
}

void call_js(Napi::Env env, Napi::Function, std::nullptr_t*, Completion* c);

using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Completion, call_js>;

// The engine's thread-safe function, referenced only while operations are in flight: the
// process stays alive for a pending Promise and exits when nothing is pending. JS thread only.
struct Flight {
  Tsfn tsfn;
  int in_flight = 0;
  bool released = false;

  void start(Napi::Env env) {
    if (in_flight++ == 0 && !released) tsfn.Ref(env);
  }
  void finish(Napi::Env env) {
    if (--in_flight == 0 && !released) tsfn.Unref(env);
  }
};

void call_js(Napi::Env env, Napi::Function, std::nullptr_t*, Completion* c) {
  std::unique_ptr<Completion> owned(c);
  if (env == nullptr) return;  // the function is being torn down
  settle(env, *owned);
  owned->flight->finish(env);
}

// ---- argument conversion (bad types: a TypeError, before anything reaches the engine) ----

struct ArgError {
  std::string message;
};

std::string bytes_arg(const Napi::Value& v, const char* what) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<char>>();
    return std::string(b.Data(), b.Length());
  }
  throw ArgError{std::string(what) + " must be a string or a Buffer"};
}

std::string text_arg(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw ArgError{std::string(what) + " must be a string"};
  return v.As<Napi::String>().Utf8Value();
}

struct CallOptions {
  std::string payload;
  long long ttl = 0;
  std::string client_key;
};

CallOptions options_arg(const Napi::Value& v) {
  CallOptions o;
  if (v.IsUndefined() || v.IsNull()) return o;
  if (!v.IsObject()) throw ArgError{"options must be an object"};
  Napi::Object obj = v.As<Napi::Object>();
  if (obj.Has("payload") && !obj.Get("payload").IsUndefined()) o.payload = bytes_arg(obj.Get("payload"), "payload");
  if (obj.Has("ttl") && !obj.Get("ttl").IsUndefined()) {
    Napi::Value t = obj.Get("ttl");
    if (!t.IsNumber() || t.As<Napi::Number>().DoubleValue() <= 0 ||
        t.As<Napi::Number>().DoubleValue() != static_cast<double>(t.As<Napi::Number>().Int64Value()))
      throw ArgError{"ttl must be a positive whole number of seconds"};
    o.ttl = t.As<Napi::Number>().Int64Value();
  }
  if (obj.Has("clientKey") && !obj.Get("clientKey").IsUndefined()) o.client_key = bytes_arg(obj.Get("clientKey"), "clientKey");
  return o;
}

IssueOptions issue_options(const CallOptions& o) {
  IssueOptions io;
  io.payload = o.payload;
  io.ttl = std::chrono::seconds(o.ttl);
  io.client_key = o.client_key;
  return io;
}

// ---- policies from plain objects, field by field through the core's schema ----

// A policy field the core refused: thrown as the documented error class (InvalidArgumentError,
// ConfigError) rather than a TypeError.
struct FieldError {
  Error error;
};

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

const FieldInfo* field_info(std::string_view name) {
  for (const FieldInfo& f : policy_fields())
    if (f.name == name) return &f;
  return nullptr;
}

// A JavaScript value in the schema's text form: the core parses and checks it (a number that is
// not a whole number, or out of range, is its error, not a silent conversion).
std::string field_text(const Napi::Value& v, const FieldInfo* info, const std::string& name) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNumber()) return v.ToString().Utf8Value();
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    return info != nullptr && info->type == FieldType::choice ? snake_case(s) : s;
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

Policy policy_arg(const Napi::Value& v) {
  Policy p;
  if (v.IsUndefined() || v.IsNull()) return p;
  if (!v.IsObject()) throw ArgError{"a policy must be an object"};
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
    const Napi::Value value = o.Get(name);
    if (value.IsUndefined()) continue;
    const std::string field = snake_case(name);
    if (auto s = set_policy_field(p, field, field_text(value, field_info(field), name)); !s) {
      Error e = s.error();
      if (field != name) e.message += " (option '" + name + "')";  // the name the caller wrote
      throw FieldError{std::move(e)};
    }
  }
  return p;
}

Key key_arg(const Napi::Value& v, std::uint8_t id) {
  std::string raw = bytes_arg(v, "key");
  if (raw.size() != kKeyBytes) throw ArgError{"a key must be exactly 32 bytes"};
  Key k;
  k.id = id;
  std::memcpy(k.bytes.data(), raw.data(), raw.size());
  detail::wipe(raw.data(), raw.size());
  return k;
}

// ---- the engine ----

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
                        InstanceMethod("close", &EngineWrap::Close)});
  }

  // new Engine(store, key|null, keyId, previousKeys[[id, key]], defaultPolicy, policies{}, keyPrefix, abuseControls,
  //            indexKey|null)
  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    Config c;
    try {
      c.store_url = text_arg(info[0], "store");
      if (!info[1].IsNull() && !info[1].IsUndefined()) {
        KeySet ks{key_arg(info[1], static_cast<std::uint8_t>(info[2].As<Napi::Number>().Uint32Value())), {}, std::nullopt};
        Napi::Array prev = info[3].As<Napi::Array>();
        for (uint32_t i = 0; i < prev.Length(); ++i) {
          Napi::Array pair = prev.Get(i).As<Napi::Array>();
          ks.previous.push_back(key_arg(pair.Get(1u), static_cast<std::uint8_t>(pair.Get(0u).As<Napi::Number>().Uint32Value())));
        }
        if (info.Length() > 8 && !info[8].IsNull() && !info[8].IsUndefined()) ks.index = key_arg(info[8], 0).bytes;
        c.keys = ks;
      }
      c.default_policy = policy_arg(info[4]);
      Napi::Object policies = info[5].As<Napi::Object>();
      Napi::Array names = policies.GetPropertyNames();
      for (uint32_t i = 0; i < names.Length(); ++i) {
        std::string name = names.Get(i).As<Napi::String>().Utf8Value();
        c.policies[name] = policy_arg(policies.Get(name));
      }
      c.key_prefix = text_arg(info[6], "keyPrefix");
      if (!info[7].As<Napi::Boolean>().Value()) {
        c.default_policy = without_abuse_controls(c.default_policy);
        for (auto& [n, p] : c.policies) p = without_abuse_controls(p);
      }
    } catch (const ArgError& e) {
      Napi::TypeError::New(env, e.message).ThrowAsJavaScriptException();
      return;
    } catch (const FieldError& e) {
      Napi::Error err(env, make_error(env, e.error));
      err.ThrowAsJavaScriptException();
      return;
    }
    auto engine = Engine::create(std::move(c));
    if (!engine) {
      Napi::Error err(env, make_error(env, engine.error()));
      err.ThrowAsJavaScriptException();
      return;
    }
    engine_ = std::move(engine).value();
    js_thread_ = std::this_thread::get_id();
    flight_ = std::make_shared<Flight>();
    flight_->tsfn = Tsfn::New(env, "verikit", 0, 1);
    flight_->tsfn.Unref(env);
    napi_add_env_cleanup_hook(env, &EngineWrap::Cleanup, this);
    hooked_ = true;
  }

  ~EngineWrap() override { Shutdown(Env()); }

 private:
  static void Cleanup(void* self) { static_cast<EngineWrap*>(self)->Shutdown(nullptr); }

  // Destroys the engine (its store thread finishes every pending request), then the function.
  void Shutdown(napi_env env) {
    if (closed_) return;
    closed_ = true;
    engine_.reset();  // completions of pending requests are queued before this returns
    if (flight_ && !flight_->released) {
      flight_->released = true;
      flight_->tsfn.Release();
    }
    if (hooked_ && env != nullptr) napi_remove_env_cleanup_hook(env, &EngineWrap::Cleanup, this);
    hooked_ = false;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown(info.Env());
    return info.Env().Undefined();
  }

  // A completion for the engine: settles on the JS thread directly, or through the function.
  // The one path from the engine to a Promise, for every operation (T: Result, bool or int).
  template <class T = Result>
  Callback<T> completion(Napi::Promise::Deferred deferred) {
    auto flight = flight_;
    auto js = js_thread_;
    Napi::Env env = Env();
    flight->start(env);
    return [flight, js, env, deferred](Expected<T> r) mutable {
      Expected<Answer> answer = r ? Expected<Answer>(Answer(std::in_place_type<T>, std::move(r).value()))
                                  : Expected<Answer>(std::move(r).error());
      if (std::this_thread::get_id() == js) {  // the embedded store completes inline
        Completion c{deferred, std::move(answer), flight};
        Napi::HandleScope scope(env);
        settle(env, c);
        return flight->finish(env);
      }
      auto* c = new Completion{deferred, std::move(answer), flight};
      if (flight->tsfn.NonBlockingCall(c) != napi_ok) delete c;  // shutting down: nobody awaits it
    };
  }

  template <class Body>
  Napi::Value promise(const Napi::CallbackInfo& info, Body&& body) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    if (closed_) {
      deferred.Reject(make_error(env, verikit::make_error(Errc::invalid_argument, "the engine is closed")));
      return deferred.Promise();
    }
    try {
      body(deferred);
    } catch (const ArgError& e) {
      deferred.Reject(Napi::TypeError::New(env, e.message).Value());
    }
    return deferred.Promise();
  }

  Napi::Value IssueOtp(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      const CallOptions o = options_arg(info[2]);
      engine_->issue_otp(p, id, issue_options(o), completion(d));
    });
  }

  Napi::Value VerifyOtp(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      const std::string code = text_arg(info[2], "code");
      const CallOptions o = options_arg(info[3]);
      engine_->verify_otp(p, id, code, VerifyOptions{o.client_key}, completion(d));
    });
  }

  Napi::Value IssueToken(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      const CallOptions o = options_arg(info[2]);
      engine_->issue_token(p, id, issue_options(o), completion(d));
    });
  }

  Napi::Value IssueLink(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      const std::string base = text_arg(info[2], "baseUrl");
      const CallOptions o = options_arg(info[3]);
      engine_->issue_link(p, id, base, issue_options(o), completion(d));
    });
  }

  // checkToken(token, purpose, link: bool, consume: bool): the purpose is required ('*' for any).
  Napi::Value CheckToken(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string t = text_arg(info[0], "token");
      if (!info[1].IsString()) throw ArgError{"purpose must be a string: the credential's purpose, or ANY_PURPOSE ('*')"};
      const std::string p = text_arg(info[1], "purpose");
      const bool link = info[2].ToBoolean(), consume = info[3].ToBoolean();
      if (link) consume ? engine_->consume_link(t, p, completion(d)) : engine_->peek_link(t, p, completion(d));
      else consume ? engine_->verify_token(t, p, completion(d)) : engine_->peek_token(t, p, completion(d));
    });
  }

  // revokeToken(token, link: bool)
  Napi::Value RevokeToken(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string t = text_arg(info[0], "token");
      if (info[1].ToBoolean()) engine_->revoke_link(t, completion<bool>(d));
      else engine_->revoke_token(t, completion<bool>(d));
    });
  }

  Napi::Value RevokeOtp(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      engine_->revoke_otp(p, id, completion<bool>(d));
    });
  }

  Napi::Value RevokeAll(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      engine_->revoke_all(p, id, completion<int>(d));
    });
  }

  Napi::Value Inspect(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      engine_->inspect(p, id, completion(d));
    });
  }

  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    return promise(info, [&](Napi::Promise::Deferred d) {
      const std::string p = text_arg(info[0], "purpose"), id = bytes_arg(info[1], "identifier");
      engine_->unlock(p, id, completion<bool>(d));
    });
  }

  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Flight> flight_;
  std::thread::id js_thread_;
  bool closed_ = false;
  bool hooked_ = false;
};

class Addon : public Napi::Addon<Addon>, public AddonData {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    engine_ctor = Napi::Persistent(EngineWrap::Define(env));
    DefineAddon(exports, {InstanceValue("Engine", engine_ctor.Value()),
                          InstanceMethod("setErrorClasses", &Addon::SetErrorClasses),
                          InstanceMethod("generateKey", &Addon::GenerateKey),
                          InstanceValue("version", Napi::String::New(env, VERIKIT_VERSION_STRING_FOR_NODE))});
  }

 private:
  // setErrorClasses(base, {code: Class}) — the Error subclasses are defined in JS.
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

  Napi::Value GenerateKey(const Napi::CallbackInfo& info) {
    Key k = generate_key();
    auto b = Napi::Buffer<char>::Copy(info.Env(), reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size());
    detail::wipe(k.bytes.data(), k.bytes.size());
    return b;
  }
};

AddonData* addon_data(Napi::Env env) { return env.GetInstanceData<Addon>(); }

}  // namespace

NODE_API_ADDON(Addon)
