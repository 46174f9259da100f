// verikit C API — configuration handles and policies.
#include <cstddef>
#include <cstring>

#include "capi_internal.hpp"
#include "verikit/schema.hpp"

using verikit::capi::guard;
using verikit::capi::set_error;

static_assert(VERIKIT_KEY_BYTES == verikit::kKeyBytes);

namespace {

int to_key(uint8_t id, const uint8_t* key, size_t len, verikit::Key& out) {
  if (key == nullptr || len != VERIKIT_KEY_BYTES)
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "a key must be exactly 32 bytes");
  out.id = id;
  std::memcpy(out.bytes.data(), key, len);
  return VERIKIT_OK;
}

// Bytes of verikit_policy that each version has (a version-1 caller's struct ends before the
// failure_* fields).
constexpr size_t kPolicyV1Bytes = offsetof(verikit_policy, failure_count);

// Zero fields keep the core's defaults: the C API has no defaults of its own.
int to_policy(const verikit_policy* in, verikit::Policy& p) {
  if (in == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "policy is NULL");
  if (in->version != 1 && in->version != VERIKIT_POLICY_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_policy.version " + std::to_string(in->version) +
                                            " is not known to this library (expected 1 or " +
                                            std::to_string(VERIKIT_POLICY_VERSION) + ")");
  const uint32_t known = VERIKIT_POLICY_TRIM_IDENTIFIER | VERIKIT_POLICY_LOWERCASE_IDENTIFIER |
                         VERIKIT_POLICY_KEEP_IDENTIFIER_CASE | VERIKIT_POLICY_KEEP_IDENTIFIER_SPACE |
                         VERIKIT_POLICY_REUSABLE | VERIKIT_POLICY_REVOKE_ALL_ON_USE | VERIKIT_POLICY_NO_COOLDOWN |
                         VERIKIT_POLICY_NO_SEND_LIMIT | VERIKIT_POLICY_NO_LOCKOUT | VERIKIT_POLICY_NO_CLIENT_LIMITS |
                         VERIKIT_POLICY_NO_ACTIVE_CAP | VERIKIT_POLICY_LOCKOUT_ALLOWS_ISSUE |
                         VERIKIT_POLICY_ACTIVE_CAP_REFUSE;
  if ((in->flags & ~known) != 0) return set_error(VERIKIT_E_CONFIG, "policy flags has unknown bits");
  if (in->ttl_seconds != 0) p.ttl = std::chrono::seconds(in->ttl_seconds);
  if (in->max_attempts != 0) p.max_attempts = static_cast<int>(std::min<uint32_t>(in->max_attempts, 1000000));
  if (in->otp_length != 0) p.otp_length = static_cast<int>(std::min<uint32_t>(in->otp_length, 1000));
  p.alphabet = static_cast<verikit::Alphabet>(in->alphabet);
  p.reissue = static_cast<verikit::Reissue>(in->reissue);
  p.trim_identifier = (in->flags & VERIKIT_POLICY_KEEP_IDENTIFIER_SPACE) == 0;
  p.lowercase_identifier = (in->flags & VERIKIT_POLICY_KEEP_IDENTIFIER_CASE) == 0;
  p.one_time_use = (in->flags & VERIKIT_POLICY_REUSABLE) == 0;
  p.revoke_all_on_use = (in->flags & VERIKIT_POLICY_REVOKE_ALL_ON_USE) != 0;
  if (in->token_bytes != 0) p.token_bytes = static_cast<int>(std::min<uint32_t>(in->token_bytes, 1000));
  if (in->link_param != nullptr) p.link_param = in->link_param;

  auto seconds = [](uint32_t v, std::chrono::seconds& out) {
    if (v != 0) out = std::chrono::seconds(v);
  };
  auto count = [](uint32_t v, int& out) {
    if (v != 0) out = static_cast<int>(std::min<uint32_t>(v, 100000000));
  };
  auto limit = [&](uint32_t c, uint32_t period, uint32_t burst, verikit::RateLimit& out) {
    count(c, out.count);
    seconds(period, out.period);
    count(burst, out.burst);
  };
  seconds(in->cooldown_seconds, p.resend_cooldown);
  limit(in->send_limit_count, in->send_limit_period_seconds, in->send_limit_burst, p.send_limit);
  count(in->lockout_failures, p.failure_limit.burst);  // version 1's name for it
  if (in->version >= 2) {
    limit(in->failure_count, in->failure_period_seconds, in->failure_burst, p.failure_limit);
    limit(in->pair_failure_count, in->pair_failure_period_seconds, in->pair_failure_burst, p.client_pair_failure_limit);
  }
  limit(in->client_issue_count, in->client_issue_period_seconds, in->client_issue_burst, p.client_issue_limit);
  limit(in->client_failure_count, in->client_failure_period_seconds, in->client_failure_burst, p.client_failure_limit);
  count(in->max_active_tokens, p.max_active_tokens);
  if (in->flags & VERIKIT_POLICY_NO_COOLDOWN) p.resend_cooldown = std::chrono::seconds(0);
  if (in->flags & VERIKIT_POLICY_NO_SEND_LIMIT) p.send_limit = verikit::RateLimit{};
  if (in->flags & VERIKIT_POLICY_NO_LOCKOUT) p.failure_limit = p.client_pair_failure_limit = verikit::RateLimit{};
  if (in->flags & VERIKIT_POLICY_NO_CLIENT_LIMITS) p.client_issue_limit = p.client_failure_limit = verikit::RateLimit{};
  if (in->flags & VERIKIT_POLICY_NO_ACTIVE_CAP) p.max_active_tokens = 0;
  p.lockout_blocks_issue = (in->flags & VERIKIT_POLICY_LOCKOUT_ALLOWS_ISSUE) == 0;
  p.active_cap = (in->flags & VERIKIT_POLICY_ACTIVE_CAP_REFUSE) ? verikit::CapMode::refuse : verikit::CapMode::revoke_oldest;
  if (auto s = verikit::validate(p); !s) return set_error(s.error());
  return VERIKIT_OK;
}

}  // namespace

extern "C" {

VERIKIT_EXTERN(int) verikit_policy_init(verikit_policy* policy, unsigned int version) {
  if (policy == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "policy is NULL");
  if (version != 1 && version != VERIKIT_POLICY_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_policy_init: unknown version " + std::to_string(version));
  const verikit_policy init = VERIKIT_POLICY_INIT;
  std::memcpy(policy, &init, version == 1 ? kPolicyV1Bytes : sizeof init);  // only what that version has
  policy->version = version;
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_config_new(verikit_config** out) {
  return guard([&] {
    if (out == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "out is NULL");
    *out = new verikit_config();
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(void) verikit_config_free(verikit_config* config) { delete config; }

VERIKIT_EXTERN(int) verikit_config_set_store(verikit_config* config, const char* url) {
  return guard([&] {
    if (config == nullptr || url == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config or url is NULL");
    config->config.store_url = url;
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_key_prefix(verikit_config* config, const char* prefix) {
  return guard([&] {
    if (config == nullptr || prefix == nullptr)
      return set_error(VERIKIT_E_INVALID_ARGUMENT, "config or prefix is NULL");
    config->config.key_prefix = prefix;
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_key(verikit_config* config, uint8_t key_id, const uint8_t* key, size_t key_len) {
  return guard([&] {
    if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
    verikit::Key k;
    if (int rc = to_key(key_id, key, key_len, k); rc != VERIKIT_OK) return rc;
    config->current_key = k;
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_add_previous_key(verikit_config* config, uint8_t key_id, const uint8_t* key,
                                                    size_t key_len) {
  return guard([&] {
    if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
    verikit::Key k;
    if (int rc = to_key(key_id, key, key_len, k); rc != VERIKIT_OK) return rc;
    config->previous_keys.push_back(k);
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_index_key(verikit_config* config, const uint8_t* key, size_t key_len) {
  return guard([&] {
    if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
    verikit::Key k;
    if (int rc = to_key(0, key, key_len, k); rc != VERIKIT_OK) return rc;
    config->index_key = k.bytes;
    verikit::detail::wipe(k.bytes.data(), k.bytes.size());
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_policy_field(verikit_config* config, const char* purpose, const char* field,
                                                    const char* value) {
  return guard([&] {
    if (config == nullptr || field == nullptr || value == nullptr)
      return set_error(VERIKIT_E_INVALID_ARGUMENT, "config, field or value is NULL");
    auto& policies = config->config.policies;
    auto it = purpose == nullptr ? policies.end() : policies.find(purpose);
    verikit::Policy p = purpose == nullptr ? config->config.default_policy : it == policies.end() ? verikit::Policy{} : it->second;
    if (auto s = verikit::set_policy_field(p, field, value); !s) return set_error(s.error());  // nothing changed
    if (purpose == nullptr) config->config.default_policy = std::move(p);
    else policies[purpose] = std::move(p);
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_abuse_controls(verikit_config* config, int enabled) {
  if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
  config->config.abuse_controls = enabled != 0;
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_config_add_link_origin(verikit_config* config, const char* origin) {
  return guard([&] {
    if (config == nullptr || origin == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config or origin is NULL");
    config->config.link_origins.emplace_back(origin);  // checked by verikit_engine_new
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_link_allow_http(verikit_config* config, int allow) {
  if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
  config->config.link_allow_http = allow != 0;
  return VERIKIT_OK;
}

// One schema entry into the out-parameters (any may be NULL). The schema's strings are literals
// in the core: NUL-terminated and static.
static int describe(const verikit::FieldInfo& f, const char** name_out, const char** type_out, int64_t* min_out,
                    int64_t* max_out, const char** doc_out) {
  if (name_out) *name_out = f.name.data();
  if (type_out) *type_out = verikit::to_string(f.type);
  if (min_out) *min_out = f.min;
  if (max_out) *max_out = f.max;
  if (doc_out) *doc_out = f.doc.data();
  return VERIKIT_OK;
}

VERIKIT_EXTERN(size_t) verikit_policy_field_count(void) { return verikit::policy_fields().size(); }

VERIKIT_EXTERN(int) verikit_policy_field(size_t i, const char** name_out, const char** type_out, int64_t* min_out,
                                         int64_t* max_out, const char** choices_out, const char** doc_out) {
  const auto fields = verikit::policy_fields();
  if (i >= fields.size()) return set_error(VERIKIT_E_INVALID_ARGUMENT, "no policy field " + std::to_string(i));
  const verikit::FieldInfo& f = fields[i];
  if (choices_out) *choices_out = f.choices.empty() ? "" : f.choices.data();
  return describe(f, name_out, type_out, min_out, max_out, doc_out);
}

VERIKIT_EXTERN(int) verikit_config_set_option(verikit_config* config, const char* name, const char* value) {
  return guard([&] {
    if (config == nullptr || name == nullptr || value == nullptr)
      return set_error(VERIKIT_E_INVALID_ARGUMENT, "config, name or value is NULL");
    if (auto s = verikit::set_config_option(config->config, name, value); !s) return set_error(s.error());
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(size_t) verikit_config_option_count(void) { return verikit::config_options().size(); }

VERIKIT_EXTERN(int) verikit_config_option(size_t i, const char** name_out, const char** type_out, int64_t* min_out,
                                          int64_t* max_out, const char** doc_out) {
  const auto options = verikit::config_options();
  if (i >= options.size()) return set_error(VERIKIT_E_INVALID_ARGUMENT, "no engine option " + std::to_string(i));
  return describe(options[i], name_out, type_out, min_out, max_out, doc_out);
}

VERIKIT_EXTERN(int) verikit_config_set_default_policy(verikit_config* config, const verikit_policy* policy) {
  return guard([&] {
    if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
    verikit::Policy p;
    if (int rc = to_policy(policy, p); rc != VERIKIT_OK) return rc;
    config->config.default_policy = std::move(p);
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_policy(verikit_config* config, const char* purpose, const verikit_policy* policy) {
  return guard([&] {
    if (config == nullptr || purpose == nullptr)
      return set_error(VERIKIT_E_INVALID_ARGUMENT, "config or purpose is NULL");
    verikit::Policy p;
    if (int rc = to_policy(policy, p); rc != VERIKIT_OK) return rc;
    config->config.policies[purpose] = std::move(p);
    return VERIKIT_OK;
  });
}

}  // extern "C"
