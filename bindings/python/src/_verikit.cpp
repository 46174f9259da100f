// verikit Python binding: the private native module `_verikit`, written over the C API
// (verikit.h) and nothing else of the core, exactly as C, Go and Rust use it. Thin: arguments
// are converted once, the GIL is released around every call into the library, outcomes come
// back as Result objects (a verikit_result read through its getters), faults as verikit.Error
// subclasses (the code -> class table lives once, in verikit._types). Every rule and default
// lives in the core.
#include <pybind11/pybind11.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "verikit.h"

namespace py = pybind11;

namespace {

// Status, the exception factory (verikit._types.error) and datetime helpers, looked up once and
// kept for the life of the process (never released after finalisation).
// verikit._types is imported on first use, not when this module loads: it builds Status and the
// error classes from this module's schema functions, so it imports this module first.
struct PyTypes {
  py::object status_type;
  py::object error;  // error(code, message) -> an instance of the verikit.Error subclass for code
  py::object from_timestamp;
  py::object utc;
  py::object event;  // verikit._types.Event
  std::vector<py::object> statuses;  // Status members by value (Status(value) runs Python code)

  py::object status(int value) const {
    if (value >= 0 && static_cast<std::size_t>(value) < statuses.size() && statuses[value]) return statuses[value];
    return status_type(value);  // not a status: Status's own ValueError
  }
};
PyTypes* types_ = nullptr;

PyTypes* types() {  // with the GIL held
  if (types_ == nullptr) {
    py::module_ t = py::module_::import("verikit._types");
    py::module_ dt = py::module_::import("datetime");
    types_ = new PyTypes{t.attr("Status"), t.attr("error"), dt.attr("datetime").attr("fromtimestamp"),
                         dt.attr("timezone").attr("utc"), t.attr("Event"), {}};
    for (py::handle member : types_->status_type) {
      const int value = member.cast<int>();
      if (value < 0 || value > 1024) continue;
      if (types_->statuses.size() <= static_cast<std::size_t>(value)) types_->statuses.resize(value + 1);
      types_->statuses[value] = py::reinterpret_borrow<py::object>(member);
    }
  }
  return types_;
}

// An error message as str: the core's messages are UTF-8, but one may quote bytes from elsewhere
// (a server's reply, strerror in another locale): those become U+FFFD, never a decoding error
// in place of the error.
py::object message_text(const std::string& message) {
  PyObject* s = PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace");
  if (s == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(s);
}

// The verikit.Error subclass instance for a C API error code and its message.
py::object error_object(int code, const std::string& message) { return types()->error(code, message_text(message)); }

[[noreturn]] void raise(int code, const std::string& message) {
  py::object exc = error_object(code, message);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

// The failure of the call that just returned `code` on this thread.
[[noreturn]] void raise_last(int code) { raise(code, verikit_error_message()); }

void check(int code) {
  if (code != VERIKIT_OK) raise_last(code);
}

std::string type_name(const py::handle& h) { return py::str(py::type::of(h).attr("__name__")).cast<std::string>(); }

// A str as UTF-8. A lone surrogate has no UTF-8 form: InvalidArgument (not a cast error).
std::string utf8(const py::handle& h, const char* what) {
  Py_ssize_t n = 0;
  const char* s = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
  if (s == nullptr) {
    PyErr_Clear();
    raise(VERIKIT_E_INVALID_ARGUMENT, std::string(what) + " is not valid text: it holds a lone surrogate");
  }
  return std::string(s, static_cast<std::size_t>(n));
}

// str is UTF-8 encoded; bytes are taken as they are.
std::string to_bytes(const py::handle& h, const char* what) {
  if (py::isinstance<py::str>(h)) return utf8(h, what);
  if (py::isinstance<py::bytes>(h)) return h.cast<std::string>();
  if (py::isinstance<py::bytearray>(h)) return py::bytearray(h.cast<py::object>()).cast<std::string>();
  throw py::type_error(std::string(what) + " must be str or bytes, not " + type_name(h));
}

// Text goes to the C API as a NUL-terminated string: a NUL inside would cut it short silently.
std::string to_text(const py::handle& h, const char* what, const char* expected = "str") {
  if (!py::isinstance<py::str>(h)) throw py::type_error(std::string(what) + " must be " + expected + ", not " + type_name(h));
  std::string text = utf8(h, what);
  if (text.find('\0') != std::string::npos)
    raise(VERIKIT_E_INVALID_ARGUMENT, std::string(what) + " must not contain a NUL character");
  return text;
}

// A token or link check always names a purpose: there is no default ("*" is the explicit "any").
std::string to_check_purpose(const py::handle& h) {
  return to_text(h, "purpose", "str (the credential's purpose, or verikit.ANY_PURPOSE)");
}

// Secret bytes (keys) are wiped once handed over.
struct Wiped {
  std::string bytes;
  ~Wiped() { explicit_bzero(bytes.data(), bytes.size()); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(bytes.data()); }
};

py::object timestamp_ms(int64_t ms) {
  if (ms == 0) return py::none();  // the C API's "not set"
  return types()->from_timestamp(static_cast<double>(ms) / 1000.0, types()->utc);
}

py::object count_or_none(int64_t v) { return v < 0 ? py::object(py::none()) : py::object(py::int_(v)); }

// ---- configuration: verikit_config_* (policies field by field through the core's schema) ----

struct ConfigFree {
  void operator()(verikit_config* c) const { verikit_config_free(c); }
};
using ConfigPtr = std::unique_ptr<verikit_config, ConfigFree>;

// The text form of one policy value, as the schema reads it: bools "true"/"false", whole
// numbers and names as they are, (count, period, burst) as "count/period/burst". The core
// parses and checks it (unknown field: InvalidArgument; out of range: ConfigError).
std::string policy_text(const std::string& name, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::str>(v)) return utf8(v, ("policy field " + name).c_str());
  if (py::isinstance<py::int_>(v)) return py::str(v).cast<std::string>();
  if ((py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) && py::len(v) == 3) {
    std::string text;
    for (auto part : v) {
      if (!py::isinstance<py::int_>(part) || py::isinstance<py::bool_>(part))
        throw py::type_error("policy field " + name + " must be (count, period_seconds, burst) of ints or False");
      text += (text.empty() ? "" : "/") + py::str(part).cast<std::string>();
    }
    return text;
  }
  throw py::type_error("policy field " + name + " must be a bool, an int, a str or (count, period_seconds, burst), not " +
                       type_name(v));
}

// None keeps the core's default. `purpose` nullptr: the default policy.
void set_policy(verikit_config* c, const char* purpose, const py::dict& fields) {
  for (auto item : fields) {
    const std::string name = to_text(item.first, "policy field name");
    if (item.second.is_none()) continue;
    const std::string text = policy_text(name, item.second);
    check(verikit_config_set_policy_field(c, purpose, name.c_str(), text.c_str()));
  }
}

// The engine-option schema's types by name (verikit_config_option), read once.
const std::map<std::string, std::string>& option_types() {
  static const std::map<std::string, std::string> types = [] {
    std::map<std::string, std::string> m;
    for (size_t i = 0; i < verikit_config_option_count(); ++i) {
      const char *name = nullptr, *type = nullptr;
      if (verikit_config_option(i, &name, &type, nullptr, nullptr, nullptr) == VERIKIT_OK) m[name] = type;
    }
    return m;
  }();
  return types;
}

// The text form of one engine option, by the type the schema gives it, strictly: a bool is not
// an int nor an int a bool, a list is an iterable of str (not a str). The core parses and checks
// it (an out-of-range int is its ConfigError); a name it does not know is its InvalidArgument.
std::string option_text(const std::string& name, const py::handle& v) {
  const auto& types = option_types();
  const auto it = types.find(name);
  const std::string type = it == types.end() ? "" : it->second;
  if (type == "boolean") {
    if (!py::isinstance<py::bool_>(v)) throw py::type_error(name + " must be bool, not " + type_name(v));
    return v.cast<bool>() ? "true" : "false";
  }
  if (type == "integer") {
    if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v))
      throw py::type_error(name + " must be int, not " + type_name(v));
    return py::str(py::int_(py::reinterpret_borrow<py::object>(v))).cast<std::string>();
  }
  if (type == "list") {
    if (py::isinstance<py::str>(v) || py::isinstance<py::bytes>(v) || !py::isinstance<py::iterable>(v))
      throw py::type_error(name + " must be an iterable of str, not " + type_name(v));
    std::string text;
    for (auto item : v) {
      const std::string one = to_text(item, name.c_str());
      if (one.find(',') != std::string::npos) raise(VERIKIT_E_INVALID_ARGUMENT, name + ": an item may not contain ','");
      text += (text.empty() ? "" : ",") + one;
    }
    return text;
  }
  return to_text(v, name.c_str());  // text (and names the core will refuse)
}

// Engine options by name (verikit_config_set_option); None keeps the core's default.
void set_options(verikit_config* c, const py::dict& options) {
  for (auto item : options) {
    if (item.second.is_none()) continue;
    const std::string name = to_text(item.first, "option name");
    check(verikit_config_set_option(c, name.c_str(), option_text(name, item.second).c_str()));
  }
}

uint8_t to_key_id(const py::handle& h) {
  if (h.is_none()) return VERIKIT_DEFAULT_KEY_ID;
  if (!py::isinstance<py::int_>(h) || py::isinstance<py::bool_>(h)) throw py::type_error("key_id must be an int");
  int overflow = 0;
  const long long id = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
  if (overflow != 0 || id < 0 || id > 255)  // one byte in every record: never wrapped
    raise(VERIKIT_E_INVALID_ARGUMENT, "key_id must be a whole number from 0 to 255, not " + py::repr(h).cast<std::string>());
  return static_cast<uint8_t>(id);
}

// ---- lifecycle events: the C handler, on the engine's event thread ----

// The handler's `user`: the Python callable (the facade's guard, which logs what it raises).
// Created before the engine and deleted, with the GIL, only after verikit_engine_free returned.
struct EventSink {
  py::object callback;
};

// An event copied out of the C API without the GIL (it is valid during the handler only).
struct EventCopy {
  std::string name, purpose, identifier_tag, identifier, client_tag;
  int kind = 0, credential = 0, status = -1;
  int32_t used = -1, remaining = -1, count = -1;
  int64_t retry_after_ms = 0, at_ms = 0;

  explicit EventCopy(const verikit_event* e) : name(verikit_event_name(e)) {
    auto text = [e](int (*get)(const verikit_event*, const char**, size_t*)) {
      const char* d = nullptr;
      size_t n = 0;
      return get(e, &d, &n) == VERIKIT_OK ? std::string(d, n) : std::string();
    };
    purpose = text(verikit_event_purpose);
    identifier_tag = text(verikit_event_identifier_tag);
    identifier = text(verikit_event_identifier);
    client_tag = text(verikit_event_client_tag);
    verikit_event_kind(e, &kind);
    verikit_event_credential(e, &credential);
    verikit_event_status(e, &status);
    verikit_event_attempts(e, &used, &remaining);
    verikit_event_count(e, &count);
    verikit_event_retry_after_ms(e, &retry_after_ms);
    verikit_event_at_ms(e, &at_ms);
  }

  py::object to_py() const {
    py::dict kw;
    kw["name"] = name;
    kw["credential"] = verikit_credential_name(credential);
    kw["kind"] = verikit_kind_name(kind);
    kw["status"] = status < 0 ? py::object(py::none()) : types()->status(status);
    kw["purpose"] = purpose;
    kw["identifier_tag"] = identifier_tag;
    kw["identifier"] = identifier.empty() ? py::object(py::none())
                                          : py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
                                                identifier.data(), static_cast<Py_ssize_t>(identifier.size()), "surrogateescape"));
    kw["client_tag"] = client_tag;
    kw["attempts_used"] = count_or_none(used);
    kw["attempts_remaining"] = count_or_none(remaining);
    kw["retry_after"] = static_cast<double>(retry_after_ms) / 1000.0;
    kw["count"] = count_or_none(count);
    kw["at"] = types()->from_timestamp(static_cast<double>(at_ms) / 1000.0, types()->utc);
    return types()->event(**kw);
  }
};

bool interpreter_alive() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsInitialized() && !Py_IsFinalizing();
#else
  return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

// The GIL is taken only to build the Event and call the callback. The callable is referenced
// for the call itself, so closing the engine inside the callback (which deletes the sink) is safe.
void on_event(void* user, const verikit_event* e) noexcept {
  try {
    const EventCopy copy(e);
    if (!interpreter_alive()) return;  // a thread cannot take the GIL of a finalising interpreter
    py::gil_scoped_acquire gil;
    try {
      py::object callback = static_cast<EventSink*>(user)->callback;
      callback(copy.to_py());
    } catch (py::error_already_set& err) {
      err.discard_as_unraisable("verikit on_event");  // the facade's guard already logs; never propagate
    }
  } catch (...) {
    // Out of memory copying the event: it is lost, the engine goes on.
  }
}

// ---- the engine: a refcounted holder around verikit_engine* ----

// Freed with verikit_engine_free when its last user lets go: the NativeEngine (until close) and
// every call in progress hold a reference, so close() while other threads call the engine never
// frees it under them. The last user frees it without the GIL (sync calls and close release it
// first); verikit_engine_free waits for asynchronous calls in flight, whose callbacks never need
// the GIL.
// Freeing joins the engine's event thread, which may be waiting for the GIL to call on_event:
// it is always freed without the GIL, and the callback is released with it afterwards.
struct Handle {
  Handle(verikit_engine* e, std::unique_ptr<EventSink> s) : engine(e), sink(std::move(s)) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (Py_IsInitialized() && PyGILState_Check()) {
      py::gil_scoped_release nogil;
      verikit_engine_free(engine);
    } else {
      verikit_engine_free(engine);
    }
    if (!sink) return;
    if (!interpreter_alive()) {
      (void)sink.release();  // too late to release a Python object
      return;
    }
    py::gil_scoped_acquire gil;
    sink.reset();
  }
  verikit_engine* const engine;
  std::unique_ptr<EventSink> sink;
};
using HandlePtr = std::shared_ptr<Handle>;

class PyEngine {
 public:
  PyEngine(const std::string& store, py::object key, py::object key_id, py::list previous_keys, py::dict default_policy,
           py::dict policies, py::dict options, py::object index_key, py::object on_event_callback) {
    verikit_config* raw = nullptr;
    check(verikit_config_new(&raw));
    ConfigPtr c(raw);
    check(verikit_config_set_store(c.get(), store.c_str()));
    set_options(c.get(), options);
    if (!key.is_none()) {
      Wiped k{to_bytes(key, "key")};
      check(verikit_config_set_key(c.get(), to_key_id(key_id), k.data(), k.bytes.size()));
    }
    for (auto item : previous_keys) {
      auto t = item.cast<py::tuple>();
      if (t.size() != 2) throw py::value_error("previous_keys holds (key_id, key) pairs");
      Wiped k{to_bytes(t[1], "key")};
      check(verikit_config_add_previous_key(c.get(), to_key_id(t[0]), k.data(), k.bytes.size()));
    }
    if (!index_key.is_none()) {
      Wiped k{to_bytes(index_key, "index_key")};
      check(verikit_config_set_index_key(c.get(), k.data(), k.bytes.size()));
    }
    set_policy(c.get(), nullptr, default_policy);
    for (auto item : policies) {
      const std::string purpose = to_text(item.first, "purpose");
      set_policy(c.get(), purpose.c_str(), item.second.cast<py::dict>());
    }
    std::unique_ptr<EventSink> sink;
    if (!on_event_callback.is_none()) {
      sink = std::make_unique<EventSink>(EventSink{on_event_callback});
      check(verikit_config_set_event_handler(c.get(), on_event, sink.get()));
    }
    verikit_engine* e = nullptr;
    int rc;
    std::string message;
    {
      py::gil_scoped_release nogil;  // connecting to a store may take a while
      rc = verikit_engine_new(&e, c.get());
      if (rc != VERIKIT_OK) message = verikit_error_message();
    }
    if (rc != VERIKIT_OK) raise(rc, message);
    handle_ = std::make_shared<Handle>(e, std::move(sink));
  }

  ~PyEngine() {
    HandlePtr h = take();
    if (h && Py_IsInitialized() && PyGILState_Check()) {
      py::gil_scoped_release nogil;
      h.reset();
    }
  }

  void close() {
    HandlePtr h = take();
    py::gil_scoped_release nogil;  // freeing joins the store's threads
    h.reset();                     // frees now, or when the last call in progress ends
  }

  // A reference for the duration of one call; raises once the engine is closed. (Raised after
  // the lock is let go: making the exception runs Python code, which may hand the GIL to a
  // thread that then waits here for the lock while holding the GIL: a deadlock that two threads
  // calling a closed engine met, found by a review.)
  HandlePtr acquire() {
    HandlePtr h;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      h = handle_;
    }
    if (!h) raise(VERIKIT_E_INVALID_ARGUMENT, "the engine is closed");
    return h;
  }

 private:
  HandlePtr take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(handle_);
  }

  std::mutex mutex_;
  HandlePtr handle_;
};

// ---- results: a verikit_result, read through the getters ----

struct ResultFree {
  void operator()(verikit_result* r) const { verikit_result_free(r); }
};
using ResultPtr = std::unique_ptr<verikit_result, ResultFree>;

struct PyResult {
  ResultPtr r;

  int status() const {
    int s = 0;
    verikit_result_status(r.get(), &s);
    return s;
  }
  bool ok() const { return verikit_status_ok(status()) == 1; }
  std::string_view text(int (*get)(const verikit_result*, const char**, size_t*)) const {
    const char* data = nullptr;
    size_t len = 0;
    if (get(r.get(), &data, &len) != VERIKIT_OK) return {};
    return {data, len};
  }
  std::string_view payload() const {
    const uint8_t* data = nullptr;
    size_t len = 0;
    if (verikit_result_payload(r.get(), &data, &len) != VERIKIT_OK) return {};
    return {reinterpret_cast<const char*>(data), len};
  }
  template <class T>
  T number(int (*get)(const verikit_result*, T*)) const {
    T v{};
    get(r.get(), &v);
    return v;
  }
};

// The Python object of a new C++ one, made inside the call that returns it. pybind11 registers
// an instance only after making it, and when that registration's allocation fails (seen with
// allocations failing on the loop's thread: tests/python/test_out_of_memory.py) its paths end
// the process: a py::init<> constructor registers outside its exception handling
// (std::terminate); a holder given to py::cast, or made by a factory, is freed by it and by its
// owner (a double free). A raw pointer handed over (take_ownership) is its alone from the start:
// that failure is then a MemoryError, and the object is leaked (pybind11 frees its memory
// without destroying it).
template <class T>
py::object hand_over(T* made) {
  return py::cast(made, py::return_value_policy::take_ownership);
}

py::object to_py(ResultPtr r) { return hand_over(new PyResult{std::move(r)}); }

// ---- synchronous calls: the GIL is released around the call into the library ----

template <class F>
py::object call_result(PyEngine& self, F&& f) {
  HandlePtr h = self.acquire();
  verikit_result* out = nullptr;
  int rc;
  std::string message;
  {
    py::gil_scoped_release nogil;
    rc = f(h->engine, &out);
    if (rc != VERIKIT_OK) message = verikit_error_message();  // this thread's error, read at once
    h.reset();
  }
  if (rc != VERIKIT_OK) raise(rc, message);
  return to_py(ResultPtr(out));
}

template <class F>
int call_count(PyEngine& self, F&& f) {
  HandlePtr h = self.acquire();
  int count = 0;
  int rc;
  std::string message;
  {
    py::gil_scoped_release nogil;
    rc = f(h->engine, &count);
    if (rc != VERIKIT_OK) message = verikit_error_message();
    h.reset();
  }
  if (rc != VERIKIT_OK) raise(rc, message);
  return count;
}

// A flow binding given: the credential's condition, so it must say something. Empty (a missing
// cookie written as `cookie or ""`) would pass as no binding at all, and the credential verify
// under any (found by a review): refused; None is no binding.
std::string binding_arg(const py::object& binding) {
  std::string bytes = to_bytes(binding, "binding");
  if (bytes.empty()) raise(VERIKIT_E_INVALID_ARGUMENT, "binding must not be empty: pass None for no binding");
  return bytes;
}

// Issue options: pointers into strings that outlive the call (the library copies them).
struct Options {
  std::string payload;
  std::string client_key;
  std::string binding;
  verikit_issue_options c = VERIKIT_ISSUE_OPTIONS_INIT;

  Options(const py::object& payload_, const py::object& ttl, const py::object& client_key_, const py::object& binding_) {
    if (!payload_.is_none()) payload = to_bytes(payload_, "payload");
    if (!ttl.is_none()) {
      if (!py::isinstance<py::int_>(ttl) || py::isinstance<py::bool_>(ttl)) throw py::type_error("ttl must be an int (seconds)");
      int overflow = 0;  // beyond 64 bits: -1 or 1, no cast error
      const long long t = PyLong_AsLongLongAndOverflow(ttl.ptr(), &overflow);
      if (overflow < 0 || (overflow == 0 && t <= 0))  // 0 would mean "the policy's"
        raise(VERIKIT_E_INVALID_ARGUMENT, "ttl must be a positive number of seconds");
      // Beyond 32 bits: the largest value, which the core refuses with its range message.
      c.ttl_seconds = overflow > 0 ? std::numeric_limits<uint32_t>::max()
                                   : static_cast<uint32_t>(std::min<long long>(t, std::numeric_limits<uint32_t>::max()));
    }
    if (!client_key_.is_none()) client_key = to_bytes(client_key_, "client_key");
    c.payload = reinterpret_cast<const uint8_t*>(payload.data());
    c.payload_len = payload.size();
    c.client_key = reinterpret_cast<const uint8_t*>(client_key.data());
    c.client_key_len = client_key.size();
    if (!binding_.is_none()) binding = binding_arg(binding_);
    c.binding = reinterpret_cast<const uint8_t*>(binding.data());
    c.binding_len = binding.size();
  }
  Options(const Options&) = delete;
};

struct VerifyOptions {
  std::string client_key;
  std::string binding;
  verikit_verify_options c = VERIKIT_VERIFY_OPTIONS_INIT;

  VerifyOptions(const py::object& client_key_, const py::object& binding_) {
    if (!client_key_.is_none()) client_key = to_bytes(client_key_, "client_key");
    c.client_key = reinterpret_cast<const uint8_t*>(client_key.data());
    c.client_key_len = client_key.size();
    if (!binding_.is_none()) binding = binding_arg(binding_);
    c.binding = reinterpret_cast<const uint8_t*>(binding.data());
    c.binding_len = binding.size();
  }
  VerifyOptions(const VerifyOptions&) = delete;
};

// ---- asynchronous calls: one completion path for every operation ----

// What a completion carries to Python: a Result, a flag (revoke, unlock) or a count (revoke_all).
enum class Kind : uint8_t { result, flag, count };

class Queue;
using QueuePtr = std::shared_ptr<Queue>;

// One call in flight: the callback's `user` (it owns everything the callback touches), made
// when the call starts, and then what its completion carries to Python. The completion fills it
// in and links it into its queue, allocating nothing (the error message's copy aside, which is
// left out when there is no memory for it): no completion is lost to a failed allocation.
struct Pending {
  QueuePtr queue;  // until queued (a queued call must not keep its queue alive)
  long long id;
  Kind kind;
  int code = VERIKIT_OK;
  std::string message;
  bool message_lost = false;  // no memory for its copy: the error says so (settle)
  ResultPtr result;
  int count = 0;
  Pending* next = nullptr;  // in the queue
};

// What the library's callbacks queue for one asyncio loop: no Python object in it, so any
// thread pushes without the GIL, and it lives (held by every call in flight) however long after
// close() or the loop's end a completion arrives. A push signals an eventfd the loop watches.
// The eventfd is shared with a forked child (and so is the loop's epoll instance): a child that
// ran the copied loop (asyncio.run's clean-up at its exit does) read the parent's signal, and
// since a push signals only an empty queue, the parent's calls, then and later, never settled
// (found by a review). So only the process that made the queue reads it (inherited()).
class Queue {
 public:
  Queue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), owner_(::getpid()) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  // In a forked child of the process that made it.
  bool inherited() const noexcept { return ::getpid() != owner_; }
  ~Queue() {  // queued results are freed with the queue
    ::close(fd_);
    free_chain(head_);
  }
  int fd() const { return fd_; }

  void push(Pending* p) noexcept {
    bool signal = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      signal = head_ == nullptr;
      (head_ == nullptr ? head_ : tail_->next) = p;
      tail_ = p;
    }
    if (signal) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
  }

  // The completions queued so far, in order: a chain the caller owns (each deleted once used).
  Pending* take() noexcept {
    std::uint64_t v = 0;
    [[maybe_unused]] auto n = ::read(fd_, &v, sizeof v);
    std::lock_guard<std::mutex> lock(mutex_);  // pushers hold it briefly and never take the GIL
    Pending* chain = head_;
    head_ = tail_ = nullptr;
    return chain;
  }

  static void free_chain(Pending* p) noexcept {
    while (p != nullptr) delete std::exchange(p, p->next);
  }

 private:
  int fd_;
  pid_t owner_;
  std::mutex mutex_;
  Pending* head_ = nullptr;
  Pending* tail_ = nullptr;
};

// Completions for one asyncio loop, used with the GIL only: the futures of the calls in flight
// (each made by `future_type(loop=loop)`), by call id, and their queue. settle() is the loop's reader callback (add_reader on fd()): it
// settles every queued completion's future, in C++ (no Python frame per completion). No thread
// ever waits for the GIL to hand a single result over.
class Completions {
 public:
  // Futures are future_type(loop=loop). The loop is held weakly: the loop's reader holds this
  // object, and a strong reference back would keep every loop an engine ever ran on (and its
  // eventfd) alive for good.
  Completions(py::object future_type, const py::object& loop)
      : queue_(std::make_shared<Queue>()), future_type_(std::move(future_type)), loop_(loop),
        loop_keyword_(py::make_tuple(py::str("loop"))) {}
  int fd() const { return queue_->fd(); }
  const QueuePtr& queue() const { return queue_; }

  std::pair<long long, py::object> add() {
    PyObject* loop = PyWeakref_GetObject(loop_.ptr());  // borrowed; None once the loop is gone
    if (loop == nullptr) throw py::error_already_set();
    if (loop == Py_None) throw std::runtime_error("verikit: the event loop of these completions is gone");
    PyObject* args[] = {loop};  // future_type(loop=loop), by vectorcall
    py::object fut = py::reinterpret_steal<py::object>(PyObject_Vectorcall(future_type_.ptr(), args, 0, loop_keyword_.ptr()));
    if (!fut) throw py::error_already_set();
    const long long id = next_id_++;
    futures_.emplace(id, fut);
    return {id, std::move(fut)};
  }
  void forget(long long id) { futures_.erase(id); }

  // The exception being handled, as the Python error indicator (a C++ one turned into its Python
  // counterpart: MemoryError for std::bad_alloc).
  static void raised_here() noexcept {
    try {
      throw;
    } catch (py::error_already_set& e) {
      e.restore();
    } catch (const std::bad_alloc&) {
      PyErr_NoMemory();
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "verikit: the answer could not be made");
    }
  }

  void settle() {
    if (queue_->inherited()) return;  // the parent's signal and completions (see Queue)
    static const py::str done("done"), set_result("set_result"), set_exception("set_exception");
    // fut.name(arg) without a bound method or an argument tuple (vectorcall).
    auto call = [](const py::object& fut, const py::str& name, py::object arg) {
      py::object r = py::reinterpret_steal<py::object>(
          arg ? PyObject_CallMethodOneArg(fut.ptr(), name.ptr(), arg.ptr()) : PyObject_CallMethodNoArgs(fut.ptr(), name.ptr()));
      if (!r) throw py::error_already_set();
      return r;
    };
    // The chain not yet handled is freed however this ends (each Pending owns only itself).
    struct Rest {
      Pending* chain;
      ~Rest() { Queue::free_chain(chain); }
    } rest{queue_->take()};
    while (rest.chain != nullptr) {
      std::unique_ptr<Pending> held(rest.chain);
      rest.chain = std::exchange(held->next, nullptr);
      Pending& d = *held;
      auto it = futures_.find(d.id);
      if (it == futures_.end()) continue;
      py::object fut = std::move(it->second);
      futures_.erase(it);
      try {
        if (call(fut, done, py::object()).ptr() == Py_True) continue;  // cancelled meanwhile
        if (d.code != VERIKIT_OK) {
          if (d.message.empty())
            d.message = std::string(verikit_error_name(d.code)) +
                        (d.message_lost ? " (its message was lost: out of memory)" : "");
          call(fut, set_exception, error_object(d.code, d.message));
          continue;
        }
        switch (d.kind) {
          case Kind::result: call(fut, set_result, to_py(std::move(d.result))); break;
          case Kind::flag: call(fut, set_result, py::bool_(d.count != 0)); break;
          case Kind::count: call(fut, set_result, py::int_(d.count)); break;
        }
      } catch (...) {
        // Making the answer failed (no memory, a signal handler's exception): the future gets
        // that exception, so no call is left pending; one future's fault stops no other.
        raised_here();
        PyObject *type = nullptr, *value = nullptr, *trace = nullptr;
        PyErr_Fetch(&type, &value, &trace);
        PyErr_NormalizeException(&type, &value, &trace);
        py::object exc = py::reinterpret_steal<py::object>(value);
        Py_XDECREF(type);
        Py_XDECREF(trace);
        PyObject* is_done = exc ? PyObject_CallMethodNoArgs(fut.ptr(), done.ptr()) : nullptr;
        if (is_done != nullptr && is_done == Py_False) {
          if (PyObject* r = PyObject_CallMethodOneArg(fut.ptr(), set_exception.ptr(), exc.ptr())) Py_DECREF(r);
        }
        Py_XDECREF(is_done);
        if (PyErr_Occurred()) PyErr_WriteUnraisable(fut.ptr());
      }
    }
  }

 private:
  QueuePtr queue_;
  py::object future_type_;
  py::weakref loop_;
  py::tuple loop_keyword_;
  std::unordered_map<long long, py::object> futures_;
  long long next_id_ = 0;
};

void complete(Pending* p, int error, const char* message, ResultPtr result, int count) noexcept {
  p->code = error;
  p->result = std::move(result);
  p->count = count;
  if (error != VERIKIT_OK && message != nullptr) {
    try {
      p->message = message;
    } catch (...) {  // (no memory for the copy: the error keeps its code and says so)
      p->message_lost = true;
    }
  }
  const QueuePtr queue = std::move(p->queue);
  queue->push(p);  // the queue's now (deleted once its future is settled, or with the queue)
}

void on_result(void* user, int error, const char* message, verikit_result* result) {
  complete(static_cast<Pending*>(user), error, message, ResultPtr(result), 0);
}

void on_count(void* user, int error, const char* message, int count) {
  complete(static_cast<Pending*>(user), error, message, nullptr, count);
}

// Starts one asynchronous call (the call itself without the GIL) and returns its future;
// `start(engine, user)` passes on_result or on_count with `user`. The engine is kept alive for
// the start; the callback needs only `user`.
template <class F>
py::object start_async(PyEngine& self, Completions& sink, Kind kind, F&& start) {
  HandlePtr h = self.acquire();
  auto [id, fut] = sink.add();
  // Until the call takes it, `user` is ours, and the future is forgotten if anything fails.
  std::unique_ptr<Pending> user;
  int rc = VERIKIT_OK;
  std::string message;
  try {
    user.reset(new Pending{sink.queue(), id, kind});
    py::gil_scoped_release nogil;
    rc = start(h->engine, user.get());
    if (rc == VERIKIT_OK) (void)user.release();  // the callback's now: it deletes it
    else message = verikit_error_message();
    h.reset();
  } catch (...) {  // (the GIL is back: nogil is gone)
    sink.forget(id);
    throw;
  }
  if (rc != VERIKIT_OK) {  // refused by the call itself: the callback never runs
    sink.forget(id);
    raise(rc, message);
  }
  return fut;
}

}  // namespace

PYBIND11_MODULE(_verikit, m) {
  m.doc() = "verikit native module over the C API (private: use the verikit package)";

  py::class_<PyResult>(m, "Result")
      .def_property_readonly("status", [](const PyResult& r) { return types()->status(r.status()); })
      .def_property_readonly("ok", &PyResult::ok)
      .def("__bool__", &PyResult::ok)
      .def_property_readonly("secret", [](const PyResult& r) { return py::str(std::string(r.text(verikit_result_secret))); })
      .def_property_readonly("url", [](const PyResult& r) { return py::str(std::string(r.text(verikit_result_url))); })
      .def_property_readonly("pending", [](const PyResult& r) { return py::str(std::string(r.text(verikit_result_pending))); })
      .def_property_readonly("codes", [](const PyResult& r) {
        size_t n = 0;
        verikit_result_code_count(r.r.get(), &n);
        py::list codes;
        for (size_t i = 0; i < n; ++i) {
          const char* data = nullptr;
          size_t len = 0;
          if (verikit_result_code(r.r.get(), i, &data, &len) == VERIKIT_OK) codes.append(py::str(std::string(data, len)));
        }
        return codes;
      })
      .def_property_readonly("reused", [](const PyResult& r) { return r.number<int>(verikit_result_reused) != 0; })
      .def_property_readonly("replicas_confirmed", [](const PyResult& r) -> py::object {
        const int32_t n = r.number<int32_t>(verikit_result_replicas_confirmed);
        if (n < 0) return py::none();
        return py::int_(n);
      })
      .def_property_readonly("purpose", [](const PyResult& r) { return py::str(std::string(r.text(verikit_result_purpose))); })
      .def_property_readonly("identifier", [](const PyResult& r) {
        const std::string_view id = r.text(verikit_result_identifier);
        return py::reinterpret_steal<py::object>(
            PyUnicode_DecodeUTF8(id.data(), static_cast<Py_ssize_t>(id.size()), "surrogateescape"));
      })
      .def_property_readonly("identifier_bytes", [](const PyResult& r) {
        const std::string_view id = r.text(verikit_result_identifier);
        return py::bytes(id.data(), id.size());
      })
      .def_property_readonly("payload", [](const PyResult& r) {
        const std::string_view p = r.payload();
        return py::bytes(p.data(), p.size());
      })
      .def_property_readonly("expires_at", [](const PyResult& r) { return timestamp_ms(r.number<int64_t>(verikit_result_expires_at_ms)); })
      .def_property_readonly("attempts_remaining", [](const PyResult& r) { return count_or_none(r.number<int32_t>(verikit_result_attempts_remaining)); })
      .def_property_readonly("retry_after", [](const PyResult& r) { return static_cast<double>(r.number<int64_t>(verikit_result_retry_after_ms)) / 1000.0; })
      .def_property_readonly("active_tokens", [](const PyResult& r) { return count_or_none(r.number<int32_t>(verikit_result_active_tokens)); })
      .def_property_readonly("counters", [](const PyResult& r) -> py::object {
        auto counter = [&](int which, int64_t& v) { return verikit_result_counter(r.r.get(), which, &v) == VERIKIT_OK; };
        int64_t failures = 0;
        if (!counter(VERIKIT_COUNTER_FAILURES, failures)) {  // counters come only with inspect
          verikit_error_clear();
          return py::none();
        }
        auto at = [&](int which) {
          int64_t v = 0;
          counter(which, v);
          return timestamp_ms(v);
        };
        auto available = [&](int which) {
          int64_t v = 0;
          counter(which, v);
          return count_or_none(v);
        };
        py::dict d;
        d["failures"] = failures;
        d["failures_reset_at"] = at(VERIKIT_COUNTER_FAILURES_RESET_AT_MS);
        d["locked_until"] = at(VERIKIT_COUNTER_LOCKED_UNTIL_MS);
        d["guesses_available"] = available(VERIKIT_COUNTER_GUESSES_AVAILABLE);
        d["cooldown_until"] = at(VERIKIT_COUNTER_COOLDOWN_UNTIL_MS);
        d["sends_available"] = available(VERIKIT_COUNTER_SENDS_AVAILABLE);
        d["send_limit_reset_at"] = at(VERIKIT_COUNTER_SEND_LIMIT_RESET_AT_MS);
        return d;
      })
      .def("__repr__", [](const PyResult& r) {
        return "<verikit.Result " + std::string(verikit_status_name(r.status())) + ">";  // no secrets in reprs
      });

  // Made by Completions.make and NativeEngine.open, not by constructors: see hand_over.
  py::class_<Completions>(m, "Completions")
      .def_static("make", [](py::object future_type, const py::object& loop) {
        return hand_over(new Completions(std::move(future_type), loop));
      }, py::arg("future_type"), py::arg("loop"))
      .def("fd", &Completions::fd)
      .def("settle", &Completions::settle);

  using O = const py::object&;
  py::class_<PyEngine>(m, "NativeEngine")
      .def_static("open", [](const std::string& store, py::object key, py::object key_id, py::list previous_keys,
                             py::dict default_policy, py::dict policies, py::dict options, py::object index_key,
                             py::object on_event) {
        return hand_over(new PyEngine(store, std::move(key), std::move(key_id), std::move(previous_keys),
                                      std::move(default_policy), std::move(policies), std::move(options),
                                      std::move(index_key), std::move(on_event)));
      },
           py::arg("store"), py::arg("key"), py::arg("key_id"), py::arg("previous_keys"), py::arg("default_policy"),
           py::arg("policies"), py::arg("options"), py::arg("index_key") = py::none(), py::arg("on_event") = py::none())
      .def("event_counts", [](PyEngine& self) {
        HandlePtr h = self.acquire();
        uint64_t delivered = 0, dropped = 0;
        check(verikit_engine_event_counts(h->engine, &delivered, &dropped));
        return py::make_tuple(delivered, dropped);
      })
      .def("close", &PyEngine::close)
      .def("metrics", [](PyEngine& self) {
        HandlePtr h = self.acquire();
        std::string text;
        size_t needed = 0;
        verikit_engine_metrics(h->engine, nullptr, 0, &needed);  // asks for the size
        for (int tries = 0; tries < 4; ++tries) {  // the text may grow between the two calls
          text.resize(needed);
          if (verikit_engine_metrics(h->engine, text.data(), text.size(), &needed) == VERIKIT_OK) {
            text.resize(needed - 1);
            return py::str(text);
          }
        }
        raise(VERIKIT_E_INTERNAL, "the metrics text kept growing");
      })
      // --- synchronous ---
      .def("issue_otp", [](PyEngine& self, O purpose, O identifier, O payload, O ttl, O client_key, O binding) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o(payload, ttl, client_key, binding);
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_otp_issue(out, e, p.c_str(), id.data(), id.size(), &o.c);
        });
      })
      .def("verify_otp", [](PyEngine& self, O purpose, O identifier, O code, O client_key, O binding) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const VerifyOptions o(client_key, binding);
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_otp_verify(out, e, p.c_str(), id.data(), id.size(), c.data(), c.size(), &o.c);
        });
      })
      .def("issue_token", [](PyEngine& self, O purpose, O identifier, O payload, O ttl, O client_key, O binding) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o(payload, ttl, client_key, binding);
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_token_issue(out, e, p.c_str(), id.data(), id.size(), &o.c);
        });
      })
      .def("issue_link", [](PyEngine& self, O purpose, O identifier, O base_url, O payload, O ttl, O client_key, O binding) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string url = to_text(base_url, "base_url");
        const Options o(payload, ttl, client_key, binding);
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_link_issue(out, e, p.c_str(), id.data(), id.size(), url.c_str(), &o.c);
        });
      })
      .def("check_token", [](PyEngine& self, O token, O purpose, bool link, bool consume, O binding) {
        const std::string t = to_text(token, "token");
        const std::string p = to_check_purpose(purpose);
        const VerifyOptions o(py::none(), binding);
        if (consume) {  // with the flow binding, if any
          auto use = link ? verikit_link_consume_ext : verikit_token_verify_ext;
          return call_result(self, [&](verikit_engine* e, verikit_result** out) { return use(out, e, p.c_str(), t.data(), t.size(), &o.c); });
        }
        auto peek = link ? verikit_link_peek : verikit_token_peek;  // peeking ignores bindings
        return call_result(self, [&](verikit_engine* e, verikit_result** out) { return peek(out, e, p.c_str(), t.data(), t.size()); });
      })
      .def("revoke_token", [](PyEngine& self, O token, bool link) {
        const std::string t = to_text(token, "token");
        auto revoke = link ? verikit_link_revoke : verikit_token_revoke;
        return call_count(self, [&](verikit_engine* e, int* n) { return revoke(n, e, t.data(), t.size()); }) != 0;
      })
      .def("revoke_otp", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_count(self, [&](verikit_engine* e, int* n) { return verikit_otp_revoke(n, e, p.c_str(), id.data(), id.size()); }) != 0;
      })
      .def("revoke_all", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_count(self, [&](verikit_engine* e, int* n) { return verikit_revoke_all(n, e, p.c_str(), id.data(), id.size()); });
      })
      .def("inspect", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_inspect(out, e, p.c_str(), id.data(), id.size());
        });
      })
      .def("unlock", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_count(self, [&](verikit_engine* e, int* n) { return verikit_unlock(n, e, p.c_str(), id.data(), id.size()); }) != 0;
      })
      // --- asynchronous: each returns a future of `sink`'s loop, settled exactly once ---
      .def("issue_otp_async", [](PyEngine& self, O purpose, O identifier, O payload, O ttl, O client_key, O binding,
                                 Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o(payload, ttl, client_key, binding);
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_otp_issue_async(e, p.c_str(), id.data(), id.size(), &o.c, on_result, user);
        });
      })
      .def("verify_otp_async", [](PyEngine& self, O purpose, O identifier, O code, O client_key, O binding,
                                  Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const VerifyOptions o(client_key, binding);
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_otp_verify_async(e, p.c_str(), id.data(), id.size(), c.data(), c.size(), &o.c, on_result, user);
        });
      })
      .def("issue_token_async", [](PyEngine& self, O purpose, O identifier, O payload, O ttl, O client_key, O binding,
                                   Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o(payload, ttl, client_key, binding);
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_token_issue_async(e, p.c_str(), id.data(), id.size(), &o.c, on_result, user);
        });
      })
      .def("issue_link_async", [](PyEngine& self, O purpose, O identifier, O base_url, O payload, O ttl, O client_key, O binding,
                                  Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string url = to_text(base_url, "base_url");
        const Options o(payload, ttl, client_key, binding);
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_link_issue_async(e, p.c_str(), id.data(), id.size(), url.c_str(), &o.c, on_result, user);
        });
      })
      .def("check_token_async", [](PyEngine& self, O token, O purpose, bool link, bool consume, O binding,
                                   Completions& sink) {
        const std::string t = to_text(token, "token");
        const std::string p = to_check_purpose(purpose);
        const VerifyOptions o(py::none(), binding);
        if (consume) {  // with the flow binding, if any
          auto use = link ? verikit_link_consume_ext_async : verikit_token_verify_ext_async;
          return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
            return use(e, p.c_str(), t.data(), t.size(), &o.c, on_result, user);
          });
        }
        auto peek = link ? verikit_link_peek_async : verikit_token_peek_async;  // peeking ignores bindings
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return peek(e, p.c_str(), t.data(), t.size(), on_result, user);
        });
      })
      .def("revoke_token_async", [](PyEngine& self, O token, bool link, Completions& sink) {
        const std::string t = to_text(token, "token");
        auto revoke = link ? verikit_link_revoke_async : verikit_token_revoke_async;
        return start_async(self, sink, Kind::flag, [&](verikit_engine* e, void* user) {
          return revoke(e, t.data(), t.size(), on_count, user);
        });
      })
      .def("revoke_otp_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::flag, [&](verikit_engine* e, void* user) {
          return verikit_otp_revoke_async(e, p.c_str(), id.data(), id.size(), on_count, user);
        });
      })
      .def("revoke_all_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::count, [&](verikit_engine* e, void* user) {
          return verikit_revoke_all_async(e, p.c_str(), id.data(), id.size(), on_count, user);
        });
      })
      .def("inspect_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_inspect_async(e, p.c_str(), id.data(), id.size(), on_result, user);
        });
      })
      .def("unlock_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::flag, [&](verikit_engine* e, void* user) {
          return verikit_unlock_async(e, p.c_str(), id.data(), id.size(), on_count, user);
        });
      })
      // --- recovery codes ---
      .def("generate_recovery_codes", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_recovery_generate(out, e, p.c_str(), id.data(), id.size());
        });
      })
      .def("use_recovery_code", [](PyEngine& self, O purpose, O identifier, O code, O client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const VerifyOptions o(client_key, py::none());
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_recovery_use(out, e, p.c_str(), id.data(), id.size(), c.data(), c.size(), &o.c);
        });
      })
      .def("recovery_codes_remaining", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_count(self, [&](verikit_engine* e, int* n) { return verikit_recovery_remaining(n, e, p.c_str(), id.data(), id.size()); });
      })
      .def("generate_recovery_codes_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_recovery_generate_async(e, p.c_str(), id.data(), id.size(), on_result, user);
        });
      })
      .def("use_recovery_code_async", [](PyEngine& self, O purpose, O identifier, O code, O client_key, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const VerifyOptions o(client_key, py::none());
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_recovery_use_async(e, p.c_str(), id.data(), id.size(), c.data(), c.size(), &o.c, on_result, user);
        });
      })
      // --- authenticator codes (TOTP) ---
      .def("enroll_totp", [](PyEngine& self, O purpose, O identifier, O issuer) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string i = to_text(issuer, "issuer");
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_totp_enroll(out, e, p.c_str(), id.data(), id.size(), i.c_str());
        });
      })
      .def("verify_totp", [](PyEngine& self, O purpose, O identifier, O code, O client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const VerifyOptions o(client_key, py::none());
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_totp_verify(out, e, p.c_str(), id.data(), id.size(), c.data(), c.size(), &o.c);
        });
      })
      .def("begin_totp_enrollment", [](PyEngine& self, O purpose, O identifier, O issuer) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string i = to_text(issuer, "issuer");
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_totp_begin(out, e, p.c_str(), id.data(), id.size(), i.c_str());
        });
      })
      .def("confirm_totp_enrollment", [](PyEngine& self, O purpose, O identifier, O pending, O code, O client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string pe = to_text(pending, "pending"), c = to_text(code, "code");
        const VerifyOptions o(client_key, py::none());
        return call_result(self, [&](verikit_engine* e, verikit_result** out) {
          return verikit_totp_confirm(out, e, p.c_str(), id.data(), id.size(), pe.data(), pe.size(), c.data(), c.size(), &o.c);
        });
      })
      .def("begin_totp_enrollment_async", [](PyEngine& self, O purpose, O identifier, O issuer, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string i = to_text(issuer, "issuer");
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_totp_begin_async(e, p.c_str(), id.data(), id.size(), i.c_str(), on_result, user);
        });
      })
      .def("confirm_totp_enrollment_async", [](PyEngine& self, O purpose, O identifier, O pending, O code, O client_key,
                                               Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string pe = to_text(pending, "pending"), c = to_text(code, "code");
        const VerifyOptions o(client_key, py::none());
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_totp_confirm_async(e, p.c_str(), id.data(), id.size(), pe.data(), pe.size(), c.data(), c.size(),
                                            &o.c, on_result, user);
        });
      })
      .def("enroll_totp_async", [](PyEngine& self, O purpose, O identifier, O issuer, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string i = to_text(issuer, "issuer");
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_totp_enroll_async(e, p.c_str(), id.data(), id.size(), i.c_str(), on_result, user);
        });
      })
      .def("verify_totp_async", [](PyEngine& self, O purpose, O identifier, O code, O client_key, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const VerifyOptions o(client_key, py::none());
        return start_async(self, sink, Kind::result, [&](verikit_engine* e, void* user) {
          return verikit_totp_verify_async(e, p.c_str(), id.data(), id.size(), c.data(), c.size(), &o.c, on_result, user);
        });
      })
      .def("recovery_codes_remaining_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::count, [&](verikit_engine* e, void* user) {
          return verikit_recovery_remaining_async(e, p.c_str(), id.data(), id.size(), on_count, user);
        });
      })
      .def("revoke_second_factors", [](PyEngine& self, O purpose, O identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return call_count(self, [&](verikit_engine* e, int* n) {
          return verikit_revoke_second_factors(n, e, p.c_str(), id.data(), id.size());
        });
      })
      .def("revoke_second_factors_async", [](PyEngine& self, O purpose, O identifier, Completions& sink) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        return start_async(self, sink, Kind::count, [&](verikit_engine* e, void* user) {
          return verikit_revoke_second_factors_async(e, p.c_str(), id.data(), id.size(), on_count, user);
        });
      });

  m.def("generate_key", []() {
    uint8_t key[VERIKIT_KEY_BYTES];
    check(verikit_key_generate(key, sizeof key));
    py::bytes out(reinterpret_cast<const char*>(key), sizeof key);
    explicit_bzero(key, sizeof key);
    return out;
  });
  // The core's schema, which verikit._types turns into Status and the exception classes.
  m.def("statuses", []() {
    py::list out;
    for (size_t i = 0; i < verikit_status_count(); ++i) {
      const char *name = nullptr, *doc = nullptr;
      int ok = 0;
      check(verikit_status_info(i, &name, &ok, &doc));
      out.append(py::make_tuple(static_cast<int>(i), name, ok == 1, doc));
    }
    return out;
  });
  m.def("error_kinds", []() {
    py::list out;
    for (size_t i = 0; i < verikit_error_kind_count(); ++i) {
      int code = 0, parent = 0;
      const char *name = nullptr, *cls = nullptr, *doc = nullptr;
      check(verikit_error_kind(i, &code, &name, &cls, &parent, &doc));
      out.append(py::make_tuple(code, name, cls, parent, doc));
    }
    return out;
  });
  // The engine options (verikit_config_option): verikit.Engine's keywords are held equal to it.
  m.def("config_options", []() {
    py::list out;
    for (size_t i = 0; i < verikit_config_option_count(); ++i) {
      const char *name = nullptr, *type = nullptr, *doc = nullptr;
      int64_t lo = 0, hi = 0;
      check(verikit_config_option(i, &name, &type, &lo, &hi, &doc));
      out.append(py::make_tuple(name, type, lo, hi, doc));
    }
    return out;
  });
  m.attr("DEFAULT_KEY_ID") = VERIKIT_DEFAULT_KEY_ID;
  m.attr("VERSION") = verikit_version();
}
