// verikit — validation of policies and configurations, and outcome names.
#include "verikit/config.hpp"
#include "verikit/engine.hpp"
#include "verikit/result.hpp"

#include "engine/inputs.hpp"
#include "engine/token_format.hpp"

namespace verikit {
namespace {
Error bad(const std::string& what) { return make_error(Errc::config, what); }
}  // namespace

Status validate(const Policy& p) {
  if (p.ttl.count() < 1 || p.ttl > kMaxTtl) return bad("policy ttl must be between 1 second and 30 days");
  if (p.max_attempts < 1 || p.max_attempts > 100) return bad("policy max_attempts must be between 1 and 100");
  if (p.otp_length < 4 || p.otp_length > 10) return bad("policy otp_length must be between 4 and 10");
  if (p.alphabet != Alphabet::digits && p.alphabet != Alphabet::unambiguous)
    return bad("policy alphabet is not a known alphabet");
  if (p.reissue != Reissue::replace && p.reissue != Reissue::resend_same)
    return bad("policy reissue is not a known mode");
  if (p.token_bytes < detail::kMinTokenBytes || p.token_bytes > detail::kMaxTokenBytes)
    return bad("policy token_bytes must be between 16 and 64 (128 to 512 bits)");
  if (p.link_param.empty() || p.link_param.size() > 64) return bad("policy link_param must be 1 to 64 bytes");
  for (char c : p.link_param)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return bad("policy link_param may hold only letters, digits, '_', '-' and '.'");
  const auto day = std::chrono::seconds(86400);
  if (p.resend_cooldown.count() < 0 || p.resend_cooldown > day) return bad("policy resend_cooldown must be 0 to 1 day");
  for (auto [limit, name] : {std::pair{&p.send_limit, "send_limit"}, std::pair{&p.failure_limit, "failure_limit"},
                             std::pair{&p.client_pair_failure_limit, "client_pair_failure_limit"},
                             std::pair{&p.client_issue_limit, "client_issue_limit"},
                             std::pair{&p.client_failure_limit, "client_failure_limit"}}) {
    if (limit->count < 0 || limit->count > 1000000) return bad(std::string("policy ") + name + " count must be 0 to 1000000");
    if (limit->count > 0 && (limit->period.count() < 1 || limit->period > kMaxTtl))
      return bad(std::string("policy ") + name + " period must be 1 second to 30 days");
    if (limit->count > 0 && (limit->burst < 1 || limit->burst > 1000000))
      return bad(std::string("policy ") + name + " burst must be 1 to 1000000");
  }
  if (p.max_active_tokens < 0 || p.max_active_tokens > 1000) return bad("policy max_active_tokens must be 0 to 1000");
  if (p.active_cap != CapMode::revoke_oldest && p.active_cap != CapMode::refuse)
    return bad("policy active_cap is not a known mode");
  return Unit{};
}

Status validate(const Config& c) {
  if (auto s = validate(c.default_policy); !s) return Error{s.error().code, "default " + s.error().message};
  for (const auto& [purpose, policy] : c.policies) {
    if (auto s = detail::check_purpose(purpose); !s) return bad("policy name: " + s.error().message);
    if (auto s = validate(policy); !s) return Error{s.error().code, "purpose '" + purpose + "': " + s.error().message};
  }
  if (c.key_prefix.empty() || c.key_prefix.size() > 64) return bad("key_prefix must be 1 to 64 bytes");
  for (char ch : c.key_prefix)
    if (ch <= 0x20 || ch >= 0x7f || ch == '{' || ch == '}')
      return bad("key_prefix must be printable ASCII without spaces or braces");
  return Unit{};
}

const char* to_string(Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::verified: return "verified";
    case Outcome::valid: return "valid";
    case Outcome::issued: return "issued";
    case Outcome::invalid: return "invalid";
    case Outcome::not_found: return "not_found";
    case Outcome::attempts_exhausted: return "attempts_exhausted";
    case Outcome::locked: return "locked";
    case Outcome::rate_limited: return "rate_limited";
    case Outcome::cooldown: return "cooldown";
  }
  return "unknown";
}

}  // namespace verikit
