// verikit Python binding: the private native module `_verikit`. Thin: arguments are converted
// once, the GIL is released around every call into the engine, outcomes come back as Result
// objects, faults as verikit.Error subclasses. Every rule and default lives in the core.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

#include "verikit/verikit.hpp"

namespace py = pybind11;
using namespace verikit;

namespace {

// Exception classes and the Status enum, defined in Python (verikit._types), looked up once.
struct PyTypes {
  py::object status;
  py::object error_base;
  std::map<Errc, py::object> errors;
};
PyTypes* types = nullptr;

[[noreturn]] void raise(const Error& e) {
  auto it = types->errors.find(e.code);
  py::object cls = it == types->errors.end() ? types->error_base : it->second;
  PyErr_SetObject(cls.ptr(), py::make_tuple(e.message, static_cast<int>(e.code)).ptr());
  throw py::error_already_set();
}

template <class T>
T value_or_raise(Expected<T> r) {
  if (!r) raise(r.error());
  return std::move(r).value();
}

// str is UTF-8 encoded; bytes are taken as they are.
std::string to_bytes(const py::handle& h, const char* what) {
  if (py::isinstance<py::bytes>(h)) return h.cast<std::string>();
  if (py::isinstance<py::str>(h)) return h.cast<std::string>();
  if (py::isinstance<py::bytearray>(h)) return py::bytearray(h.cast<py::object>()).cast<std::string>();
  throw py::type_error(std::string(what) + " must be str or bytes, not " + py::str(py::type::of(h).attr("__name__")).cast<std::string>());
}

std::string to_text(const py::handle& h, const char* what) {
  if (!py::isinstance<py::str>(h))
    throw py::type_error(std::string(what) + " must be str, not " + py::str(py::type::of(h).attr("__name__")).cast<std::string>());
  return h.cast<std::string>();
}

// A token or link check always names a purpose: there is no default ("*" is the explicit "any").
std::string to_check_purpose(const py::handle& h) {
  if (!py::isinstance<py::str>(h))
    throw py::type_error("purpose must be str (the credential's purpose, or verikit.ANY_PURPOSE), not " +
                         py::str(py::type::of(h).attr("__name__")).cast<std::string>());
  return h.cast<std::string>();
}

std::optional<std::string> opt_bytes(const py::object& h, const char* what) {
  if (h.is_none()) return std::nullopt;
  return to_bytes(h, what);
}

py::object timestamp(const std::optional<TimePoint>& t) {
  if (!t) return py::none();
  // Looked up once and kept for the life of the process (never released after finalisation).
  static py::object* from_timestamp = new py::object(py::module_::import("datetime").attr("datetime").attr("fromtimestamp"));
  static py::object* utc = new py::object(py::module_::import("datetime").attr("timezone").attr("utc"));
  const double secs = static_cast<double>(t->time_since_epoch().count()) / 1000.0;
  return (*from_timestamp)(secs, *utc);
}

// ---- configuration from keyword dictionaries (None: the core's default) ----

// A policy from a keyword dictionary, field by field through the core's schema (no field list
// here): None keeps the core's default; bools, whole numbers, names and (count, period, burst)
// tuples become the schema's text forms, and the core parses and checks them.
Policy to_policy(const py::dict& d) {
  Policy p;
  for (auto item : d) {
    const std::string name = to_text(item.first, "policy field name");
    const py::handle v = item.second;
    if (v.is_none()) continue;
    std::string text;
    if (py::isinstance<py::bool_>(v)) {
      text = v.cast<bool>() ? "true" : "false";
    } else if (py::isinstance<py::int_>(v) || py::isinstance<py::str>(v)) {
      text = py::str(v).cast<std::string>();
    } else if ((py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) && py::len(v) == 3) {
      for (auto part : v) {
        if (!py::isinstance<py::int_>(part) || py::isinstance<py::bool_>(part))
          throw py::type_error("policy field " + name + " must be (count, period_seconds, burst) of ints or False");
        text += (text.empty() ? "" : "/") + py::str(part).cast<std::string>();
      }
    } else {
      throw py::type_error("policy field " + name + " must be a bool, an int, a str or (count, period_seconds, burst), not " +
                           py::str(py::type::of(v).attr("__name__")).cast<std::string>());
    }
    if (auto s = set_policy_field(p, name, text); !s) raise(s.error());
  }
  return p;
}

Key to_key(const py::handle& h, std::uint8_t id) {
  std::string raw = to_bytes(h, "key");
  if (raw.size() != kKeyBytes) throw py::value_error("a key must be exactly 32 bytes");
  Key k;
  k.id = id;
  std::memcpy(k.bytes.data(), raw.data(), raw.size());
  detail::wipe(raw.data(), raw.size());
  return k;
}

// ---- the engine ----

struct Options {
  std::string payload;
  long long ttl = 0;
  std::string client_key;
};

class PyEngine {
 public:
  PyEngine(const std::string& store, py::object key, int key_id, py::list previous_keys, py::dict default_policy,
           py::dict policies, const std::string& key_prefix, bool without_abuse_controls, py::object index_key) {
    Config c;
    c.store_url = store;
    c.key_prefix = key_prefix;
    if (!key.is_none()) {
      KeySet ks{to_key(key, static_cast<std::uint8_t>(key_id)), {}, std::nullopt};
      for (auto item : previous_keys) {
        auto t = item.cast<py::tuple>();
        if (t.size() != 2) throw py::value_error("previous_keys holds (key_id, key) pairs");
        ks.previous.push_back(to_key(t[1], t[0].cast<std::uint8_t>()));
      }
      if (!index_key.is_none()) ks.index = to_key(index_key, 0).bytes;
      c.keys = ks;
    } else if (py::len(previous_keys) > 0 || !index_key.is_none()) {
      throw py::value_error("previous_keys and index_key need a current key");
    }
    c.default_policy = to_policy(default_policy);
    for (auto item : policies) c.policies[to_text(item.first, "purpose")] = to_policy(item.second.cast<py::dict>());
    if (without_abuse_controls) {
      c.default_policy = verikit::without_abuse_controls(c.default_policy);
      for (auto& [name, p] : c.policies) p = verikit::without_abuse_controls(p);
    }
    Expected<std::shared_ptr<Engine>> e = make_error(Errc::internal, "");
    {
      py::gil_scoped_release nogil;
      e = Engine::create(std::move(c));
    }
    engine_ = value_or_raise(std::move(e));
  }

  void close() {
    std::shared_ptr<Engine> e = std::move(engine_);
    py::gil_scoped_release nogil;  // the Redis client joins its thread, which may need the GIL
    e.reset();
  }

  Engine& get() {
    if (!engine_) raise(make_error(Errc::invalid_argument, "the engine is closed"));
    return *engine_;
  }

  std::shared_ptr<Engine> shared() {
    get();
    return engine_;
  }

 private:
  std::shared_ptr<Engine> engine_;
};

IssueOptions issue_options(const Options& o) {
  IssueOptions io;
  io.payload = o.payload;
  io.ttl = std::chrono::seconds(o.ttl);
  io.client_key = o.client_key;
  return io;
}

Options read_options(const py::object& payload, const py::object& ttl, const py::object& client_key) {
  Options o;
  if (auto p = opt_bytes(payload, "payload")) o.payload = *p;
  if (!ttl.is_none()) {
    if (!py::isinstance<py::int_>(ttl) || py::isinstance<py::bool_>(ttl)) throw py::type_error("ttl must be an int (seconds)");
    o.ttl = ttl.cast<long long>();
    if (o.ttl <= 0) throw py::value_error("ttl must be a positive number of seconds");
  }
  if (auto k = opt_bytes(client_key, "client_key")) o.client_key = *k;
  return o;
}

// Runs a synchronous engine call without the GIL.
template <class F>
auto nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

// Completions of asynchronous calls for one asyncio loop: the engine's thread queues them and
// signals an eventfd, without the GIL; the loop (add_reader on fd()) drains them with the GIL.
// No thread ever waits for the GIL to hand a single result over. Every asynchronous operation
// completes through here, whatever it answers: a Result, a flag (revoke, unlock) or a count
// (revoke_all).
class Completions : public std::enable_shared_from_this<Completions> {
 public:
  using Value = std::variant<Result, bool, int>;

  Completions() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  ~Completions() { ::close(fd_); }
  int fd() const { return fd_; }

  template <class T>
  Callback<T> completion(long long id) {
    return [self = shared_from_this(), id](Expected<T> r) {
      if (r) self->push(id, Value(std::in_place_type<T>, std::move(r).value()));
      else self->push(id, std::move(r).error());
    };
  }

  // [(id, error_code, message, Result | bool | int | None)], emptying the queue.
  py::list drain() {
    std::uint64_t v = 0;
    [[maybe_unused]] auto n = ::read(fd_, &v, sizeof v);
    std::vector<std::pair<long long, Expected<Value>>> batch;
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(queue_);
    }
    py::list out;
    for (auto& [id, r] : batch) {
      if (!r) {
        out.append(py::make_tuple(id, static_cast<int>(r.error().code), r.error().message, py::none()));
        continue;
      }
      py::object value = std::visit(
          [](auto&& x) -> py::object {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, Result>) return py::cast(std::move(x));
            else if constexpr (std::is_same_v<X, bool>) return py::bool_(x);
            else return py::int_(x);
          },
          std::move(r).value());
      out.append(py::make_tuple(id, 0, "", std::move(value)));
    }
    return out;
  }

 private:
  void push(long long id, Expected<Value> r) {
    bool signal = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      signal = queue_.empty();
      queue_.emplace_back(id, std::move(r));
    }
    if (signal) {
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
  }

  int fd_;
  std::mutex mutex_;
  std::vector<std::pair<long long, Expected<Value>>> queue_;
};

// Starts an asynchronous engine call without the GIL; its completion (an Expected<T>) is queued
// on `sink` as `call`.
template <class T = Result, class Start>
void start_async(PyEngine& self, Completions& sink, long long call, Start&& start) {
  auto e = self.shared();
  auto done = sink.completion<T>(call);
  py::gil_scoped_release nogil;
  start(*e, std::move(done));
}

}  // namespace

PYBIND11_MODULE(_verikit, m) {
  m.doc() = "verikit native module (private: use the verikit package)";
  {
    py::module_ t = py::module_::import("verikit._types");
    types = new PyTypes{t.attr("Status"), t.attr("Error"), {}};
    types->errors[Errc::invalid_argument] = t.attr("InvalidArgument");
    types->errors[Errc::config] = t.attr("ConfigError");
    types->errors[Errc::store_unavailable] = t.attr("StoreUnavailable");
    types->errors[Errc::store_protocol] = t.attr("StoreProtocolError");
    types->errors[Errc::timeout] = t.attr("Timeout");
    types->errors[Errc::unsupported] = t.attr("Unsupported");
    types->errors[Errc::crypto] = t.attr("CryptoError");
  }

  py::class_<Result>(m, "Result")
      .def_property_readonly("status", [](const Result& r) { return types->status(static_cast<int>(r.outcome)); })
      .def_property_readonly("ok", &Result::ok)
      .def("__bool__", [](const Result& r) { return r.outcome == Outcome::verified || r.outcome == Outcome::valid || r.outcome == Outcome::issued; })
      .def_property_readonly("secret", [](const Result& r) { return std::string(r.secret.view()); })
      .def_property_readonly("url", [](const Result& r) { return r.url; })
      .def_property_readonly("reused", [](const Result& r) { return r.reused; })
      .def_property_readonly("purpose", [](const Result& r) { return r.purpose; })
      .def_property_readonly("identifier", [](const Result& r) {
        return py::reinterpret_steal<py::object>(
            PyUnicode_DecodeUTF8(r.identifier.data(), static_cast<Py_ssize_t>(r.identifier.size()), "surrogateescape"));
      })
      .def_property_readonly("identifier_bytes", [](const Result& r) { return py::bytes(r.identifier); })
      .def_property_readonly("payload", [](const Result& r) { return py::bytes(std::string(r.payload.view())); })
      .def_property_readonly("expires_at", [](const Result& r) { return timestamp(r.expires_at); })
      .def_property_readonly("attempts_remaining", [](const Result& r) -> py::object {
        if (r.attempts_remaining < 0) return py::none();
        return py::int_(r.attempts_remaining);
      })
      .def_property_readonly("retry_after", [](const Result& r) { return static_cast<double>(r.retry_after.count()) / 1000.0; })
      .def_property_readonly("active_tokens", [](const Result& r) -> py::object {
        if (r.active_tokens < 0) return py::none();
        return py::int_(r.active_tokens);
      })
      .def_property_readonly("counters", [](const Result& r) -> py::object {
        if (!r.counters) return py::none();
        const Counters& c = *r.counters;
        py::dict d;
        d["failures"] = c.failures;
        d["failures_reset_at"] = timestamp(c.failures_reset_at);
        d["locked_until"] = timestamp(c.locked_until);
        d["guesses_available"] = c.guesses_available < 0 ? py::object(py::none()) : py::object(py::int_(c.guesses_available));
        d["cooldown_until"] = timestamp(c.cooldown_until);
        d["sends_available"] = c.sends_available < 0 ? py::object(py::none()) : py::object(py::int_(c.sends_available));
        d["send_limit_reset_at"] = timestamp(c.send_limit_reset_at);
        return d;
      })
      .def("__repr__", [](const Result& r) {
        return "<verikit.Result " + std::string(to_string(r.outcome)) + ">";  // no secrets in reprs
      });

  py::class_<Completions, std::shared_ptr<Completions>>(m, "Completions")
      .def(py::init<>())
      .def("fd", &Completions::fd)
      .def("drain", &Completions::drain);

  py::class_<PyEngine>(m, "NativeEngine")
      .def(py::init<const std::string&, py::object, int, py::list, py::dict, py::dict, const std::string&, bool, py::object>(),
           py::arg("store"), py::arg("key"), py::arg("key_id"), py::arg("previous_keys"), py::arg("default_policy"),
           py::arg("policies"), py::arg("key_prefix"), py::arg("without_abuse_controls"), py::arg("index_key") = py::none())
      .def("close", &PyEngine::close)
      // --- synchronous ---
      .def("issue_otp", [](PyEngine& self, py::object purpose, py::object identifier, py::object payload, py::object ttl,
                           py::object client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o = read_options(payload, ttl, client_key);
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.issue_otp(p, id, issue_options(o)); }));
      })
      .def("verify_otp", [](PyEngine& self, py::object purpose, py::object identifier, py::object code, py::object client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const std::string ck = opt_bytes(client_key, "client_key").value_or("");
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.verify_otp(p, id, c, VerifyOptions{ck}); }));
      })
      .def("issue_token", [](PyEngine& self, py::object purpose, py::object identifier, py::object payload, py::object ttl,
                             py::object client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o = read_options(payload, ttl, client_key);
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.issue_token(p, id, issue_options(o)); }));
      })
      .def("issue_link", [](PyEngine& self, py::object purpose, py::object identifier, py::object base_url,
                            py::object payload, py::object ttl, py::object client_key) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string url = to_text(base_url, "base_url");
        const Options o = read_options(payload, ttl, client_key);
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.issue_link(p, id, url, issue_options(o)); }));
      })
      .def("check_token", [](PyEngine& self, py::object token, py::object purpose, bool link, bool consume) {
        const std::string t = to_text(token, "token");
        const std::string p = to_check_purpose(purpose);
        Engine& e = self.get();
        return value_or_raise(nogil([&] {
          return link ? (consume ? e.consume_link(t, p) : e.peek_link(t, p)) : (consume ? e.verify_token(t, p) : e.peek_token(t, p));
        }));
      })
      .def("revoke_token", [](PyEngine& self, py::object token, bool link) {
        const std::string t = to_text(token, "token");
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return link ? e.revoke_link(t) : e.revoke_token(t); }));
      })
      .def("revoke_otp", [](PyEngine& self, py::object purpose, py::object identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.revoke_otp(p, id); }));
      })
      .def("revoke_all", [](PyEngine& self, py::object purpose, py::object identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.revoke_all(p, id); }));
      })
      .def("inspect", [](PyEngine& self, py::object purpose, py::object identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.inspect(p, id); }));
      })
      .def("unlock", [](PyEngine& self, py::object purpose, py::object identifier) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        Engine& e = self.get();
        return value_or_raise(nogil([&] { return e.unlock(p, id); }));
      })
      // --- asynchronous: the completion of call `call` is queued on `sink` exactly once ---
      .def("issue_otp_async", [](PyEngine& self, py::object purpose, py::object identifier, py::object payload,
                                 py::object ttl, py::object client_key, Completions& sink, long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o = read_options(payload, ttl, client_key);
        start_async(self, sink, call, [&](Engine& e, Callback<Result> done) {
          e.issue_otp(p, id, issue_options(o), std::move(done));
        });
      })
      .def("verify_otp_async", [](PyEngine& self, py::object purpose, py::object identifier, py::object code,
                                  py::object client_key, Completions& sink, long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string c = to_text(code, "code");
        const std::string ck = opt_bytes(client_key, "client_key").value_or("");
        start_async(self, sink, call, [&](Engine& e, Callback<Result> done) {
          e.verify_otp(p, id, c, VerifyOptions{ck}, std::move(done));
        });
      })
      .def("issue_token_async", [](PyEngine& self, py::object purpose, py::object identifier, py::object payload,
                                   py::object ttl, py::object client_key, Completions& sink, long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const Options o = read_options(payload, ttl, client_key);
        start_async(self, sink, call, [&](Engine& e, Callback<Result> done) {
          e.issue_token(p, id, issue_options(o), std::move(done));
        });
      })
      .def("issue_link_async", [](PyEngine& self, py::object purpose, py::object identifier, py::object base_url,
                                  py::object payload, py::object ttl, py::object client_key, Completions& sink,
                                  long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        const std::string url = to_text(base_url, "base_url");
        const Options o = read_options(payload, ttl, client_key);
        start_async(self, sink, call, [&](Engine& e, Callback<Result> done) {
          e.issue_link(p, id, url, issue_options(o), std::move(done));
        });
      })
      .def("check_token_async", [](PyEngine& self, py::object token, py::object purpose, bool link, bool consume,
                                   Completions& sink, long long call) {
        const std::string t = to_text(token, "token");
        const std::string p = to_check_purpose(purpose);
        start_async(self, sink, call, [&](Engine& e, Callback<Result> done) {
          if (link) consume ? e.consume_link(t, p, std::move(done)) : e.peek_link(t, p, std::move(done));
          else consume ? e.verify_token(t, p, std::move(done)) : e.peek_token(t, p, std::move(done));
        });
      })
      .def("revoke_token_async", [](PyEngine& self, py::object token, bool link, Completions& sink, long long call) {
        const std::string t = to_text(token, "token");
        start_async<bool>(self, sink, call, [&](Engine& e, Callback<bool> done) {
          link ? e.revoke_link(t, std::move(done)) : e.revoke_token(t, std::move(done));
        });
      })
      .def("revoke_otp_async", [](PyEngine& self, py::object purpose, py::object identifier, Completions& sink,
                                  long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        start_async<bool>(self, sink, call, [&](Engine& e, Callback<bool> done) { e.revoke_otp(p, id, std::move(done)); });
      })
      .def("revoke_all_async", [](PyEngine& self, py::object purpose, py::object identifier, Completions& sink,
                                  long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        start_async<int>(self, sink, call, [&](Engine& e, Callback<int> done) { e.revoke_all(p, id, std::move(done)); });
      })
      .def("inspect_async", [](PyEngine& self, py::object purpose, py::object identifier, Completions& sink,
                               long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        start_async(self, sink, call, [&](Engine& e, Callback<Result> done) { e.inspect(p, id, std::move(done)); });
      })
      .def("unlock_async", [](PyEngine& self, py::object purpose, py::object identifier, Completions& sink,
                              long long call) {
        const std::string p = to_text(purpose, "purpose"), id = to_bytes(identifier, "identifier");
        start_async<bool>(self, sink, call, [&](Engine& e, Callback<bool> done) { e.unlock(p, id, std::move(done)); });
      });

  m.def("generate_key", []() {
    Key k = generate_key();
    py::bytes out(reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size());
    detail::wipe(k.bytes.data(), k.bytes.size());
    return out;
  });
  m.attr("VERSION") = VERIKIT_VERSION_STRING_FOR_PYTHON;
}
