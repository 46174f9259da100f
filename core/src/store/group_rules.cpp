// verikit::detail — the per-group rules shared by the memory and file stores.
#include "store/group_rules.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"
#include "store/binding.hpp"
#include "store/recovery.hpp"

namespace verikit::detail {
namespace {

bool known_key(const OtpVerifyRequest& req, std::uint8_t key_id) {
  return std::any_of(req.candidates.begin(), req.candidates.end(), [&](const SecretHash& c) { return c.key_id == key_id; });
}

}  // namespace

void drop_expired(Group& g, TimePoint now) {
  if (g.otp && g.otp->expires_at <= now) g.otp.reset();
  if (g.recovery && g.recovery->expires_at <= now) g.recovery.reset();
  if (g.totp && g.totp->expires_at <= now) g.totp.reset();
  if (keep_until(g.rate) <= ms(now)) g.rate = RateState{};
  erase_if(g.pairs, [now](const auto& kv) { return kv.second <= ms(now); });
  erase_if(g.tokens, [now](const auto& kv) { return kv.second.expires_at <= now; });
}

long long deadline(const Group& g) {
  long long d = keep_until(g.rate);
  if (g.otp) d = std::max(d, ms(g.otp->expires_at));
  if (g.recovery) d = std::max(d, ms(g.recovery->expires_at));
  if (g.totp) d = std::max(d, ms(g.totp->expires_at));
  for (const auto& [id, t] : g.tokens) d = std::max(d, ms(t.expires_at));
  for (const auto& [client, tat] : g.pairs) d = std::max(d, tat);
  return d;
}

OtpIssueReply issue_otp(Group& g, const OtpIssueRequest& req, TimePoint now) {
  OtpIssueReply reply;
  drop_expired(g, now);
  const GateCheck gate = check_gate(g.rate, ms(now), req.gate);
  if (gate.outcome != Outcome::issued) {
    reply.outcome = gate.outcome;
    reply.retry_after = std::chrono::milliseconds(gate.retry_ms);
    return reply;
  }
  commit_gate(g.rate, ms(now), req.gate, gate);
  int attempts_left = req.max_attempts;
  if (g.otp && req.resend_same && !g.otp->sealed_code.empty() && equal_ct(g.otp->payload_hash, req.payload_hash)) {
    reply.reused = true;
    reply.sealed_code = g.otp->sealed_code;
    reply.expires_at = g.otp->expires_at;
    reply.attempts_remaining = g.otp->attempts_left;
  } else {
    if (g.otp) attempts_left = std::min(attempts_left, g.otp->attempts_left);  // failures carry over
    g.otp = OtpRecord{.key_id = req.key_id,
                      .one_time = req.one_time,
                      .revoke_group = req.revoke_group,
                      .attempts_left = attempts_left,
                      .expires_at = now + req.ttl,
                      .hash = req.secret_hash,
                      .binding_hash = req.binding_hash,
                      .sealed_payload = req.sealed_payload,
                      .sealed_code = req.sealed_code,
                      .payload_hash = req.payload_hash};
    reply.expires_at = g.otp->expires_at;
    reply.attempts_remaining = attempts_left;
  }
  return reply;
}

VerifyReply verify_otp(Group& g, const OtpVerifyRequest& req, TimePoint now) {
  VerifyReply reply;
  drop_expired(g, now);
  long long* pair = req.budget.client.empty() ? nullptr : &g.pairs[req.budget.client];
  long long no_pair = 0;
  long long& pair_tat = pair ? *pair : no_pair;
  if (const auto b = check_budget(g.rate, pair_tat, ms(now), req.budget); !b.allowed) {
    reply.outcome = Outcome::locked;  // the budget is spent: the secret is not even compared
    reply.retry_after = std::chrono::milliseconds(b.retry_ms);
  } else if (g.otp && known_key(req, g.otp->key_id)) {  // a retired key's record: not_found
    OtpRecord& rec = *g.otp;
    bool match = false;
    for (const SecretHash& c : req.candidates)
      if (c.key_id == rec.key_id) match = equal_ct(c.hash, rec.hash.view());
    // a flow-bound code matches only with its binding: else it is a wrong guess
    if (!rec.binding_hash.empty()) match = match && equal_ct(rec.binding_hash, req.binding_hash);
    reply.expires_at = rec.expires_at;
    if (match) {
      reply.outcome = Outcome::verified;
      reply.attempts_remaining = rec.attempts_left;
      reply.sealed_payload = rec.sealed_payload;
      if (rec.revoke_group) {
        g.otp.reset();
        g.tokens.clear();
      } else if (rec.one_time) {
        g.otp.reset();
      }
    } else {
      reply.counted_failure = true;
      reply.attempts_remaining = --rec.attempts_left;
      reply.outcome = rec.attempts_left > 0 ? Outcome::invalid : Outcome::attempts_exhausted;
      if (rec.attempts_left <= 0) g.otp.reset();
      count_failure(g.rate, pair_tat, ms(now), req.budget);
      if (const auto b = check_budget(g.rate, pair_tat, ms(now), req.budget); !b.allowed) {
        reply.outcome = Outcome::locked;  // this guess spent the budget
        reply.retry_after = std::chrono::milliseconds(b.retry_ms);
      }
    }
  }
  if (pair && *pair <= ms(now)) g.pairs.erase(req.budget.client);
  return reply;
}

bool revoke_otp(Group& g, TimePoint now) {
  drop_expired(g, now);
  const bool removed = g.otp.has_value();
  g.otp.reset();
  return removed;
}

TokenIssueReply issue_token(Group& g, const TokenIssueRequest& req, TimePoint now) {
  TokenIssueReply reply;
  drop_expired(g, now);
  GateCheck gate = check_gate(g.rate, ms(now), req.gate);
  if (gate.outcome == Outcome::issued && req.max_active > 0 && req.refuse_when_full &&
      static_cast<int>(g.tokens.size()) >= req.max_active) {
    gate.outcome = Outcome::rate_limited;  // until the first of them expires
    const auto first_to_expire = std::min_element(g.tokens.begin(), g.tokens.end(), [](const auto& a, const auto& b) {
      return a.second.expires_at < b.second.expires_at;
    });
    gate.retry_ms = ms(first_to_expire->second.expires_at) - ms(now);
  }
  if (gate.outcome != Outcome::issued) {
    reply.outcome = gate.outcome;
    reply.retry_after = std::chrono::milliseconds(gate.retry_ms);
    return reply;
  }
  commit_gate(g.rate, ms(now), req.gate, gate);
  const auto by_order = [](const auto& a, const auto& b) { return a.second.order < b.second.order; };
  while (req.max_active > 0 && static_cast<int>(g.tokens.size()) >= req.max_active)  // the first issued goes
    g.tokens.erase(std::min_element(g.tokens.begin(), g.tokens.end(), by_order));
  long long order = ms(now);
  if (!g.tokens.empty()) order = std::max(order, std::max_element(g.tokens.begin(), g.tokens.end(), by_order)->second.order + 1);
  reply.expires_at = now + req.ttl;
  g.tokens[req.token_id] = TokenRecord{req.kind,       req.purpose_tag,  req.sealed_identity, req.sealed_payload,
                                       reply.expires_at, req.one_time, req.revoke_group,   req.binding_hash, order};
  return reply;
}

VerifyReply verify_token(Group& g, const TokenVerifyRequest& req, TimePoint now) {
  VerifyReply reply;
  drop_expired(g, now);
  auto t = g.tokens.find(req.token_id);
  const bool found = t != g.tokens.end() && t->second.kind == req.kind &&
                     (req.purpose_tag.empty() || equal_ct(req.purpose_tag, t->second.purpose_tag));
  BindingCheck bound;  // a consume of a flow-bound one: only with its binding
  if (found && req.consume) bound = check_token_binding(g.rate, ms(now), t->second.binding_hash, req);
  if (!bound.pass) {
    reply.outcome = bound.outcome;
    reply.retry_after = std::chrono::milliseconds(bound.retry_ms);
    reply.counted_failure = bound.counted;
  } else if (found) {
    reply.outcome = req.consume ? Outcome::verified : Outcome::valid;
    reply.expires_at = t->second.expires_at;
    reply.sealed_identity = t->second.sealed_identity;
    reply.sealed_payload = t->second.sealed_payload;
    if (req.consume && t->second.revoke_group) {
      g.otp.reset();
      g.tokens.clear();
    } else if (req.consume && t->second.one_time) {
      g.tokens.erase(t);
    }
  }
  return reply;
}

bool revoke_token(Group& g, const std::string& token_id, TimePoint now) {
  drop_expired(g, now);
  return g.tokens.erase(token_id) > 0;
}

int revoke_credentials(Group& g, TimePoint now) {
  drop_expired(g, now);
  const int removed = static_cast<int>(g.tokens.size()) + (g.otp ? 1 : 0);
  g.otp.reset();  // credentials only: abuse-control state stays
  g.tokens.clear();
  return removed;
}

void inspect_group(Group& g, TimePoint now, InspectReply& reply) {
  reply.now = now;
  drop_expired(g, now);
  reply.rate = g.rate;
  if (g.otp) {
    reply.otp_live = true;
    reply.otp_attempts_remaining = g.otp->attempts_left;
    reply.otp_expires_at = g.otp->expires_at;
  }
  reply.active_tokens = static_cast<int>(g.tokens.size());
}

bool unlock_group(Group& g, const GcraLimit& budget, TimePoint now) {
  const bool was_locked = gcra_wait(g.rate.failure_tat, ms(now), budget) > 0;
  g.rate.failure_tat = 0;
  g.pairs.clear();
  return was_locked;
}

int set_recovery(Group& g, const RecoverySetRequest& req, TimePoint now) {
  drop_expired(g, now);
  g.recovery = RecoverySet{req.codes, now + req.ttl};
  return static_cast<int>(req.codes.size());
}

VerifyReply use_recovery(Group& g, const RecoveryUseRequest& req, TimePoint now) {
  drop_expired(g, now);
  long long no_pair = 0;
  long long& pair_tat = req.budget.client.empty() ? no_pair : g.pairs[req.budget.client];
  std::vector<SecretHash> none;
  VerifyReply reply = use_recovery_code(g.recovery ? g.recovery->codes : none, g.rate, pair_tat, ms(now), req);
  if (!req.budget.client.empty() && pair_tat <= ms(now)) g.pairs.erase(req.budget.client);
  if (g.recovery && g.recovery->codes.empty()) g.recovery.reset();  // the last code was used
  return reply;
}

int count_recovery(Group& g, TimePoint now) {
  drop_expired(g, now);
  return g.recovery ? static_cast<int>(g.recovery->codes.size()) : 0;
}

int revoke_second_factors(Group& g, const SecondFactorsRevokeRequest& req, TimePoint now) {
  drop_expired(g, now);
  const bool enrolled = g.totp && !g.totp->sealed_secret.empty();
  const int removed = (enrolled ? 1 : 0) + (g.recovery ? static_cast<int>(g.recovery->codes.size()) : 0);
  // second factors only: the failure budgets stay. Of an enrollment (or of an earlier removal's
  // record), a new generation without a secret; where there was none, nothing is written.
  if (g.totp) g.totp = TotpRecord{std::string{}, -1, req.tombstone_generation, now + req.tombstone_ttl};
  g.recovery.reset();
  return removed;
}

void enroll_totp(Group& g, const TotpEnrollRequest& req, TimePoint now) {
  drop_expired(g, now);
  g.totp = TotpRecord{req.sealed_secret, -1, req.generation, now + req.ttl};
}

TotpLoadReply load_totp_step(Group& g, const FailureBudget& budget, TimePoint now) {
  drop_expired(g, now);
  auto pair = g.pairs.find(budget.client);
  const long long pair_tat = budget.client.empty() || pair == g.pairs.end() ? 0 : pair->second;
  return load_totp(g.totp.get(), g.rate, pair_tat, ms(now), budget);
}

VerifyReply commit_totp_step(Group& g, const TotpCommitRequest& req, TimePoint now) {
  drop_expired(g, now);
  long long no_pair = 0;
  long long& pair_tat = req.budget.client.empty() ? no_pair : g.pairs[req.budget.client];
  VerifyReply reply = commit_totp(g.totp.get(), g.rate, pair_tat, ms(now), req);
  if (!req.budget.client.empty() && pair_tat <= ms(now)) g.pairs.erase(req.budget.client);
  return reply;
}

VerifyReply confirm_totp_step(Group& g, const TotpConfirmRequest& req, TimePoint now) {
  drop_expired(g, now);
  long long no_pair = 0;
  long long& pair_tat = req.budget.client.empty() ? no_pair : g.pairs[req.budget.client];
  VerifyReply reply;
  if (auto made = confirm_totp(g.totp.get(), g.rate, pair_tat, ms(now), req, reply)) g.totp = std::move(*made);
  if (!req.budget.client.empty() && pair_tat <= ms(now)) g.pairs.erase(req.budget.client);
  return reply;
}

ClientLimitReply take_client_limit(ClientBuckets& b, const ClientLimitRequest& req, long long now) {
  ClientLimitReply reply;
  long long& tat = req.bucket == 'f' ? b.failure_tat : b.issue_tat;
  if (req.refund) {
    tat = gcra_refund(tat, now, req.limit);
  } else {
    const Gcra g = gcra_take(tat, now, req.limit);
    reply.allowed = g.allowed;
    reply.retry_after = std::chrono::milliseconds(g.retry_ms);
    if (g.allowed) tat = g.tat;
  }
  return reply;
}

}  // namespace verikit::detail
