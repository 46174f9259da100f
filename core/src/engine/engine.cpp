// verikit — Engine construction, shared helpers and the synchronous forms of every operation.
#include "verikit/engine.hpp"

#include "engine/engine_impl.hpp"
#include "engine/inputs.hpp"
#include "store/open_store.hpp"

namespace verikit {
namespace detail {

Expected<Subject> make_subject(const EngineImpl& impl, std::string_view purpose, std::string_view identifier) {
  if (auto s = check_purpose(purpose); !s) return std::move(s).error();
  Subject subject;
  subject.purpose = std::string(purpose);
  subject.policy = &impl.config.policy_for(purpose);
  auto id = normalize_identifier(identifier, *subject.policy);
  if (!id) return std::move(id).error();
  subject.identifier = std::move(id).value();
  subject.group = group_tag(impl.ring.index(), subject.purpose, subject.identifier);
  return subject;
}

Expected<Subject> second_factor_subject(const EngineImpl& impl, std::string_view purpose, std::string_view identifier,
                                        std::string_view client_key, std::string_view binding, std::string_view what) {
  auto subject = make_subject(impl, purpose, identifier);
  if (!subject) return subject;
  if (auto s = check_client_key(client_key); !s) return std::move(s).error();
  if (!binding.empty())
    return make_error(Errc::invalid_argument, std::string(what) + " are not bound to a flow: leave binding empty");
  return subject;
}

std::string encode_identity(std::string_view purpose, std::string_view identifier) {
  std::string out;
  out.push_back(static_cast<char>(purpose.size()));  // purposes are at most 64 bytes
  out += purpose;
  out += identifier;
  return out;
}

bool decode_identity(std::string_view bytes, std::string& purpose, std::string& identifier) {
  if (bytes.empty()) return false;
  const std::size_t n = static_cast<unsigned char>(bytes[0]);
  if (bytes.size() < 1 + n) return false;
  purpose.assign(bytes.substr(1, n));
  identifier.assign(bytes.substr(1 + n));
  return true;
}

Status check_key(Store& store, const std::string& tag, const Config& config) {
  const bool create = config.key_check == "create";
  auto found = wait_for<KeyCheck>(store, [&](Callback<KeyCheck> cb) { store.key_check(tag, create, std::move(cb)); });
  if (!found) return Error{found.error().code, "checking the key against the store's key-check record: " + found.error().message};
  const bool file = config.store_url.starts_with("file:");
  const std::string where = file                      ? "this file store"
                            : config.store_url.empty() ? "this store"
                                                       : "key prefix '" + config.key_prefix + "'";
  switch (*found) {
    case KeyCheck::matched:
    case KeyCheck::created:
      return Unit{};
    case KeyCheck::mismatch:
      return make_error(Errc::config,
                        "the records under " + where + " were written with another key: this key would find none of "
                        "them (every code, token and lockout would read as absent). Configure the key they were written "
                        "with; after a key rotation, also the index key (the first key the store was used with); " +
                            std::string(file ? "another application needs a directory of its own"
                                             : "another application needs a key prefix of its own") +
                            "; to change the index key on purpose, remove the record first (README: \"Key check\")");
    case KeyCheck::absent:
      return make_error(Errc::config,
                        "no key-check record under " + where + " (key_check=require): no application has used it with "
                        "verikit 0.4 or later. Check the store URL" +
                            std::string(file ? "" : " and the key prefix") +
                            " (README: \"Key check\")");
  }
  return make_error(Errc::internal, "key check: unknown answer");
}

void key_check_again(const std::shared_ptr<EngineImpl>& impl) {
  if (impl->check_tag.empty() || impl->issues_seen.fetch_add(1, std::memory_order_relaxed) % 1024 != 0) return;
  impl->store->key_check(impl->check_tag, true, [impl](Expected<KeyCheck>&& found) {
    if (!found || *found != KeyCheck::mismatch || impl->mismatch_reported.exchange(true)) return;
    const std::string w =
        "verikit: WARNING: the store's key-check record now names another key than this engine's (key prefix '" +
        impl->config.key_prefix + "'): an engine with another key claimed it after it was lost. This engine "
        "goes on, but the other one reads none of these records, and engines with this key will be refused at "
        "their next start (README: \"Key check\")";
    if (impl->config.on_warning) impl->config.on_warning(w);
    else std::fprintf(stderr, "%s\n", w.c_str());
  });
}

}  // namespace detail

Engine::Engine(std::shared_ptr<detail::EngineImpl> impl) : impl_(std::move(impl)) {}
// Operations in flight may still hold the shared state; events they complete with are dropped.
Engine::~Engine() {
  if (impl_->events) impl_->events->stop();
}

void Engine::stop_threads() noexcept { impl_->store->stop_threads(); }

void Engine::stop_events() noexcept {
  if (impl_->events) impl_->events->stop();
}

const Config& Engine::config() const noexcept { return impl_->config; }

std::string Engine::metrics() const { return impl_->stats->prometheus(); }

EventCounts Engine::event_counts() const noexcept {
  if (!impl_->events) return EventCounts{0, 0};
  return EventCounts{impl_->events->delivered(), impl_->events->dropped()};
}

Expected<std::shared_ptr<Engine>> Engine::create(Config config) {
  // Checked before connecting: a shared store without a key is a configuration error.
  if (detail::names_shared_store(config.store_url) && !config.keys)
    return make_error(Errc::config, "a shared store needs a configured key: every process must hash and "
                                    "encrypt with the same key");
  if (auto s = validate(config); !s) return std::move(s).error();
  auto store = detail::open_store(config);
  if (!store) return std::move(store).error();
  return create(std::move(config), std::move(store).value());
}

Expected<std::shared_ptr<Engine>> Engine::create(Config config, std::shared_ptr<Store> store) {
  if (!store) return make_error(Errc::invalid_argument, "store is null");
  if (auto s = validate(config); !s) return std::move(s).error();
  if (!detail::crypto_init()) return make_error(Errc::crypto, "libsodium could not be initialised");
  if (!config.keys && store->shared())
    return make_error(Errc::config, "a shared store needs a configured key: every process must hash and "
                                    "encrypt with the same key");
  detail::KeyRing ring = detail::KeyRing::ephemeral();
  if (config.keys) {
    auto r = detail::KeyRing::from(*config.keys);
    if (!r) return std::move(r).error();
    ring = std::move(r).value();
  }
  if (const std::string tag = detail::check_tag_of(*store, config, ring); !tag.empty()) {
    if (auto s = detail::check_key(*store, tag, config); !s) return std::move(s).error();
  }
  if (!config.abuse_controls) {
    config.default_policy = without_abuse_controls(config.default_policy);
    for (auto& [purpose, policy] : config.policies) policy = without_abuse_controls(policy);
  }
  auto impl = std::make_shared<detail::EngineImpl>(std::move(config), std::move(ring), std::move(store));
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

// ---- synchronous forms: start the asynchronous one and wait for it ----

Expected<Result> Engine::issue_otp(std::string_view p, std::string_view id, const IssueOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { issue_otp(p, id, o, std::move(cb)); });
}
Expected<Result> Engine::verify_otp(std::string_view p, std::string_view id, std::string_view code,
                                    const VerifyOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { verify_otp(p, id, code, o, std::move(cb)); });
}
Expected<Result> Engine::issue_token(std::string_view p, std::string_view id, const IssueOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { issue_token(p, id, o, std::move(cb)); });
}
Expected<Result> Engine::verify_token(std::string_view token, std::string_view p) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { verify_token(token, p, std::move(cb)); });
}
Expected<Result> Engine::verify_token(std::string_view token, std::string_view p, const VerifyOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { verify_token(token, p, o, std::move(cb)); });
}
Expected<Result> Engine::peek_token(std::string_view token, std::string_view p) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { peek_token(token, p, std::move(cb)); });
}
Expected<Result> Engine::issue_link(std::string_view p, std::string_view id, std::string_view base,
                                    const IssueOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { issue_link(p, id, base, o, std::move(cb)); });
}
Expected<Result> Engine::peek_link(std::string_view token, std::string_view p) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { peek_link(token, p, std::move(cb)); });
}
Expected<Result> Engine::consume_link(std::string_view token, std::string_view p) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { consume_link(token, p, std::move(cb)); });
}
Expected<Result> Engine::consume_link(std::string_view token, std::string_view p, const VerifyOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { consume_link(token, p, o, std::move(cb)); });
}
Expected<bool> Engine::revoke_otp(std::string_view p, std::string_view id) {
  return detail::wait_for<bool>(*impl_->store, [&](Callback<bool> cb) { revoke_otp(p, id, std::move(cb)); });
}
Expected<bool> Engine::revoke_token(std::string_view token) {
  return detail::wait_for<bool>(*impl_->store, [&](Callback<bool> cb) { revoke_token(token, std::move(cb)); });
}
Expected<bool> Engine::revoke_link(std::string_view token) {
  return detail::wait_for<bool>(*impl_->store, [&](Callback<bool> cb) { revoke_link(token, std::move(cb)); });
}
Expected<int> Engine::revoke_all(std::string_view p, std::string_view id) {
  return detail::wait_for<int>(*impl_->store, [&](Callback<int> cb) { revoke_all(p, id, std::move(cb)); });
}
Expected<int> Engine::revoke_second_factors(std::string_view p, std::string_view id) {
  return detail::wait_for<int>(*impl_->store, [&](Callback<int> cb) { revoke_second_factors(p, id, std::move(cb)); });
}
Expected<Result> Engine::inspect(std::string_view p, std::string_view id) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { inspect(p, id, std::move(cb)); });
}
Expected<Result> Engine::generate_recovery_codes(std::string_view p, std::string_view id) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { generate_recovery_codes(p, id, std::move(cb)); });
}
Expected<Result> Engine::use_recovery_code(std::string_view p, std::string_view id, std::string_view code,
                                           const VerifyOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { use_recovery_code(p, id, code, o, std::move(cb)); });
}
Expected<int> Engine::recovery_codes_remaining(std::string_view p, std::string_view id) {
  return detail::wait_for<int>(*impl_->store, [&](Callback<int> cb) { recovery_codes_remaining(p, id, std::move(cb)); });
}
Expected<Result> Engine::enroll_totp(std::string_view p, std::string_view id, std::string_view issuer) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { enroll_totp(p, id, issuer, std::move(cb)); });
}
Expected<Result> Engine::verify_totp(std::string_view p, std::string_view id, std::string_view code,
                                     const VerifyOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) { verify_totp(p, id, code, o, std::move(cb)); });
}
Expected<Result> Engine::begin_totp_enrollment(std::string_view p, std::string_view id, std::string_view issuer) {
  return detail::wait_for<Result>(*impl_->store,
                                  [&](Callback<Result> cb) { begin_totp_enrollment(p, id, issuer, std::move(cb)); });
}
Expected<Result> Engine::confirm_totp_enrollment(std::string_view p, std::string_view id, std::string_view pending,
                                                 std::string_view code, const VerifyOptions& o) {
  return detail::wait_for<Result>(*impl_->store, [&](Callback<Result> cb) {
    confirm_totp_enrollment(p, id, pending, code, o, std::move(cb));
  });
}
Expected<bool> Engine::unlock(std::string_view p, std::string_view id) {
  return detail::wait_for<bool>(*impl_->store, [&](Callback<bool> cb) { unlock(p, id, std::move(cb)); });
}

}  // namespace verikit
