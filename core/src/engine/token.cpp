// verikit — opaque tokens and magic links: issue, verify (consume), peek and revoke by token alone.
#include "engine/engine_impl.hpp"
#include "engine/inputs.hpp"
#include "engine/link.hpp"
#include "engine/token_format.hpp"
#include "verikit/engine.hpp"

namespace verikit {
namespace {

std::string identity_context(std::string_view group, std::string_view id) {
  return "token-identity|" + std::string(group) + "|" + std::string(id);
}
std::string payload_context(std::string_view group, std::string_view id) {
  return "token-payload|" + std::string(group) + "|" + std::string(id);
}

struct NewToken {
  TokenIssueRequest req;
  Secret token;
};

Expected<NewToken> prepare_token(const detail::EngineImpl& impl, const detail::Subject& subject,
                                 TokenKind kind, const IssueOptions& options) {
  const Policy& policy = *subject.policy;
  if (auto s = detail::check_payload(options.payload); !s) return std::move(s).error();
  if (auto s = detail::check_client_key(options.client_key); !s) return std::move(s).error();
  if (auto s = detail::check_binding(options.binding); !s) return std::move(s).error();
  auto ttl = detail::effective_ttl(options.ttl, policy);
  if (!ttl) return std::move(ttl).error();
  const detail::DerivedKey& key = impl.ring.current();
  const std::string& group = subject.group;
  Secret secret(detail::random_bytes(static_cast<std::size_t>(policy.token_bytes)));

  NewToken t;
  t.token = Secret(detail::encode_token(key.id, group, secret.view()));
  t.req.group = group;
  t.req.token_id = detail::secret_hash(key, group, secret.view()).view();
  t.req.kind = kind;
  t.req.purpose_tag = detail::purpose_tag(impl.ring.index(), static_cast<std::uint8_t>(kind), subject.purpose);
  t.req.sealed_identity = detail::seal(key, detail::encode_identity(subject.purpose, subject.identifier),
                                       identity_context(group, t.req.token_id));
  if (!options.payload.empty())
    t.req.sealed_payload = detail::seal(key, options.payload, payload_context(group, t.req.token_id));
  t.req.ttl = *ttl;
  t.req.one_time = policy.one_time_use;
  t.req.revoke_group = policy.revoke_all_on_use;
  t.req.gate = detail::gate_of(policy);
  t.req.max_active = policy.max_active_tokens;
  t.req.refuse_when_full = policy.active_cap == CapMode::refuse;
  t.req.binding_hash = detail::binding_hash(impl.ring.index(), group, options.binding);
  return t;
}

// `done`: the operation's Tracked<Result> (moved into the store's completion: no wrapper).
template <class Done>
void store_token(const std::shared_ptr<detail::EngineImpl>& impl, NewToken t, detail::Subject subject,
                 std::string url, std::string_view client_key, Done done) {
  const RateLimit limit = subject.policy->client_issue_limit;
  auto issue = [impl, req = std::move(t.req), token = std::move(t.token), s = std::move(subject),
                url = std::move(url)](auto done) mutable {
    impl->store->token_issue(req, [token, s, url, done = std::move(done)](Expected<TokenIssueReply>&& r) mutable {
    if (!r) return done(std::move(r).error());
    Result res;
    res.outcome = r->outcome;
    res.purpose = s.purpose;
    res.identifier = s.identifier;
    if (r->outcome != Outcome::issued) {  // refused: nothing was stored
      res.retry_after = r->retry_after;
      return done(std::move(res));
    }
    res.secret = token;
    res.url = url;
    res.expires_at = r->expires_at;
    done(std::move(res));
    });
  };
  detail::with_client_limit(impl, client_key, 'i', limit, std::move(done), std::move(issue));
}

struct TokenRef {
  std::string group;
  std::string token_id;
  const detail::DerivedKey* key = nullptr;
};

// Checks the caller's arguments (errors) and parses the token (a malformed one is not_found).
Expected<std::optional<TokenRef>> locate(const detail::EngineImpl& impl, std::string_view token) {
  if (token.empty()) return make_error(Errc::invalid_argument, "token is empty");
  if (token.size() > kMaxSecretBytes)
    return make_error(Errc::invalid_argument, "token is longer than " + std::to_string(kMaxSecretBytes) + " bytes");
  auto parts = detail::parse_token(token);
  if (!parts) return std::optional<TokenRef>{};
  const detail::DerivedKey* key = impl.ring.find(parts->key_id);
  if (key == nullptr) return std::optional<TokenRef>{};  // made with a key that was retired
  return std::optional<TokenRef>{TokenRef{parts->group, std::string(detail::secret_hash(*key, parts->group, parts->secret.view()).view()), key}};
}

// A consume's flow binding (empty: none presented). Tokens take no client key: their failures
// are binding mismatches, counted in the identifier's budget of the token's own purpose.
Status check_token_options(const VerifyOptions& options, bool any_purpose) {
  if (!options.client_key.empty())
    return make_error(Errc::invalid_argument, "client_key is not used when checking a token or link: leave it empty");
  if (auto s = detail::check_binding(options.binding); !s) return s;
  if (!options.binding.empty() && any_purpose)
    return make_error(Errc::invalid_argument, "a flow binding needs the token's own purpose, not \"*\"");
  return Unit{};
}

template <class Done>
void check_token(const std::shared_ptr<detail::EngineImpl>& impl, std::string_view token, std::string_view purpose,
                 TokenKind kind, bool consume, const VerifyOptions& options, Done done) {
  auto any = detail::check_purpose_filter(purpose);
  if (!any) return done(std::move(any).error());
  if (auto s = check_token_options(options, *any); !s) return done(std::move(s).error());
  auto ref = locate(*impl, token);
  if (!ref) return done(std::move(ref).error());
  if (!ref->has_value()) return done(Result{});  // not_found
  const TokenRef& t = **ref;
  TokenVerifyRequest req;
  req.group = t.group;
  req.token_id = t.token_id;
  req.kind = kind;
  if (!*any) req.purpose_tag = detail::purpose_tag(impl->ring.index(), static_cast<std::uint8_t>(kind), purpose);
  req.consume = consume;
  if (consume && !options.binding.empty()) {
    req.binding_hash = detail::binding_hash(impl->ring.index(), t.group, options.binding);
    req.budget = detail::gcra_of(impl->config.policy_for(purpose).failure_limit);
  }
  impl->store->token_verify(req, [impl, t, done = std::move(done)](Expected<VerifyReply>&& r) mutable {
    if (!r) return done(std::move(r).error());
    Result res;
    res.outcome = r->outcome;
    res.replicas_confirmed = r->replicas_confirmed;
    res.retry_after = r->retry_after;  // locked: a bound token's identifier spent its failure budget
    if (r->outcome == Outcome::not_found || r->outcome == Outcome::locked) return done(std::move(res));
    res.expires_at = r->expires_at;
    auto identity = detail::open(impl->ring, r->sealed_identity, identity_context(t.group, t.token_id));
    if (!identity) return done(std::move(identity).error());
    if (!detail::decode_identity(identity->view(), res.purpose, res.identifier))
      return done(make_error(Errc::store_protocol, "token record holds a malformed identity"));
    if (!r->sealed_payload.empty()) {
      auto payload = detail::open(impl->ring, r->sealed_payload, payload_context(t.group, t.token_id));
      if (!payload) return done(std::move(payload).error());
      res.payload = std::move(payload).value();
    }
    done(std::move(res));
  });
}

// Revokes one token or link by the token alone; a malformed one (or one made with a retired
// key) names no record: nothing is revoked.
void revoke(const detail::EngineImpl& impl, std::string_view token, Callback<bool> done) {
  auto ref = locate(impl, token);
  if (!ref) return done(std::move(ref).error());
  if (!ref->has_value()) return done(false);
  impl.store->token_revoke((*ref)->group, (*ref)->token_id, std::move(done));
}

}  // namespace

void Engine::issue_token(std::string_view purpose, std::string_view identifier, const IssueOptions& options,
                         Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::token_issue, std::move(callback));
  detail::key_check_again(impl_);
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<Result>(impl_->stats, {Credential::token, subject->purpose, subject->identifier,
                                            options.client_key}, done);
  auto t = prepare_token(*impl_, *subject, TokenKind::token, options);
  if (!t) return done(std::move(t).error());
  store_token(impl_, std::move(t).value(), std::move(subject).value(), {}, options.client_key, std::move(done));
}

void Engine::issue_link(std::string_view purpose, std::string_view identifier, std::string_view base_url,
                        const IssueOptions& options, Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::link_issue, std::move(callback));
  detail::key_check_again(impl_);
  auto subject = detail::make_subject(*impl_, purpose, identifier);
  if (!subject) return done(std::move(subject).error());
  detail::with_event<Result>(impl_->stats, {Credential::link, subject->purpose, subject->identifier,
                                            options.client_key}, done);
  auto t = prepare_token(*impl_, *subject, TokenKind::link, options);
  if (!t) return done(std::move(t).error());
  const detail::LinkRules rules{impl_->config.link_origins, impl_->config.link_allow_http};
  auto url = detail::build_link(base_url, subject->policy->link_param, t->token.view(), rules);
  if (!url) return done(std::move(url).error());  // nothing was stored
  store_token(impl_, std::move(t).value(), std::move(subject).value(), std::move(url).value(), options.client_key,
              std::move(done));
}

void Engine::verify_token(std::string_view token, std::string_view purpose, const VerifyOptions& options,
                          Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::token_verify, std::move(callback));
  detail::with_event<Result>(impl_->stats, {Credential::token, purpose}, done);
  check_token(impl_, token, purpose, TokenKind::token, true, options, std::move(done));
}
void Engine::verify_token(std::string_view token, std::string_view purpose, Callback<Result> done) {
  verify_token(token, purpose, VerifyOptions{}, std::move(done));
}
void Engine::peek_token(std::string_view token, std::string_view purpose, Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::token_peek, std::move(callback));
  check_token(impl_, token, purpose, TokenKind::token, false, {}, std::move(done));
}
void Engine::consume_link(std::string_view token, std::string_view purpose, const VerifyOptions& options,
                          Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::link_consume, std::move(callback));
  detail::with_event<Result>(impl_->stats, {Credential::link, purpose}, done);
  check_token(impl_, token, purpose, TokenKind::link, true, options, std::move(done));
}
void Engine::consume_link(std::string_view token, std::string_view purpose, Callback<Result> done) {
  consume_link(token, purpose, VerifyOptions{}, std::move(done));
}
void Engine::peek_link(std::string_view token, std::string_view purpose, Callback<Result> callback) {
  auto done = detail::track<Result>(impl_->stats, detail::Op::link_peek, std::move(callback));
  check_token(impl_, token, purpose, TokenKind::link, false, {}, std::move(done));
}

void Engine::revoke_token(std::string_view token, Callback<bool> done) {
  auto tracked = detail::track<bool>(impl_->stats, detail::Op::token_revoke, std::move(done));
  detail::with_event<bool>(impl_->stats, {Credential::token}, tracked);
  revoke(*impl_, token, std::move(tracked));
}
void Engine::revoke_link(std::string_view token, Callback<bool> done) {
  auto tracked = detail::track<bool>(impl_->stats, detail::Op::token_revoke, std::move(done));
  detail::with_event<bool>(impl_->stats, {Credential::link}, tracked);
  revoke(*impl_, token, std::move(tracked));
}

}  // namespace verikit
