// verikit — the schema's statuses and error kinds: one table each, read by to_string, is_ok, the
// C API's names and the bindings' classes.
#include <array>

#include "verikit/schema.hpp"

namespace verikit {
namespace {

constexpr std::array kStatuses{
    StatusInfo{Outcome::verified, "verified", true, "the secret was right (and consumed if one-time)"},
    StatusInfo{Outcome::valid, "valid", true, "peek or inspect: the credential is live; nothing was consumed"},
    StatusInfo{Outcome::issued, "issued", true, "a credential was created (or the live code re-sent)"},
    StatusInfo{Outcome::invalid, "invalid", false, "wrong secret; attempts remain"},
    StatusInfo{Outcome::not_found, "not_found", false, "never issued, expired, used, revoked or malformed"},
    StatusInfo{Outcome::attempts_exhausted, "attempts_exhausted", false,
               "wrong secret and no attempts left: the credential is dead"},
    StatusInfo{Outcome::locked, "locked", false, "the identifier's failure budget is spent; see retry_after"},
    StatusInfo{Outcome::rate_limited, "rate_limited", false, "too many requests; see retry_after"},
    StatusInfo{Outcome::cooldown, "cooldown", false, "re-issue too soon; see retry_after"},
};

constexpr std::array kErrors{
    ErrorInfo{Errc::invalid_argument, "invalid_argument", "VERIKIT_E_INVALID_ARGUMENT", "InvalidArgumentError",
              Errc::ok, "an argument is empty, too long, out of range or malformed"},
    ErrorInfo{Errc::config, "config", "VERIKIT_E_CONFIG", "ConfigError", Errc::ok,
              "the configuration or a policy is invalid"},
    ErrorInfo{Errc::store_unavailable, "store_unavailable", "VERIKIT_E_STORE_UNAVAILABLE", "StoreUnavailableError",
              Errc::ok, "the store cannot be reached or refused the operation; the request was not sent"},
    ErrorInfo{Errc::store_protocol, "store_protocol", "VERIKIT_E_STORE_PROTOCOL", "StoreProtocolError", Errc::ok,
              "the store answered something unexpected"},
    ErrorInfo{Errc::timeout, "timeout", "VERIKIT_E_TIMEOUT", "TimeoutError", Errc::store_unavailable,
              "the request was sent and no reply came in time: it may have taken effect"},
    ErrorInfo{Errc::no_memory, "no_memory", "VERIKIT_E_NO_MEMORY", "", Errc::ok, "an allocation failed"},
    ErrorInfo{Errc::unsupported, "unsupported", "VERIKIT_E_UNSUPPORTED", "UnsupportedError", Errc::ok,
              "not available in this build or on this store"},
    ErrorInfo{Errc::version_mismatch, "version", "VERIKIT_E_VERSION", "", Errc::ok,
              "an options struct has an unknown version"},
    ErrorInfo{Errc::crypto, "crypto", "VERIKIT_E_CRYPTO", "CryptoError", Errc::ok,
              "a stored record failed authentication, or no configured key opens it"},
    ErrorInfo{Errc::internal, "internal", "VERIKIT_E_INTERNAL", "", Errc::ok, "a bug in verikit: please report it"},
};

// The tables are in value order, so a value is its index (statuses) or minus one minus it (errors).
constexpr bool in_value_order() {
  for (std::size_t i = 0; i < kStatuses.size(); ++i)
    if (static_cast<std::size_t>(kStatuses[i].status) != i) return false;
  for (std::size_t i = 0; i < kErrors.size(); ++i)
    if (-static_cast<int>(kErrors[i].code) != static_cast<int>(i) + 1) return false;
  return true;
}
static_assert(in_value_order(), "the status and error tables are indexed by value");

const StatusInfo* find(Outcome outcome) noexcept {
  const auto i = static_cast<std::size_t>(outcome);
  return i < kStatuses.size() ? &kStatuses[i] : nullptr;
}

}  // namespace

std::span<const StatusInfo> statuses() noexcept { return kStatuses; }
std::span<const ErrorInfo> error_kinds() noexcept { return kErrors; }

const char* to_string(Outcome outcome) noexcept {
  const StatusInfo* s = find(outcome);
  return s != nullptr ? s->name.data() : "unknown";  // the names are literals: NUL-terminated
}

bool is_ok(Outcome outcome) noexcept {
  const StatusInfo* s = find(outcome);
  return s != nullptr && s->ok;
}

}  // namespace verikit
