// verikit C API — configuration handles and policies.
#include <cstring>

#include "capi_internal.hpp"

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

// Zero fields keep the core's defaults: the C API has no defaults of its own.
int to_policy(const verikit_policy* in, verikit::Policy& p) {
  if (in == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "policy is NULL");
  if (in->version != VERIKIT_POLICY_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_policy.version " + std::to_string(in->version) +
                                            " is not known to this library (expected " +
                                            std::to_string(VERIKIT_POLICY_VERSION) + ")");
  const uint32_t known = VERIKIT_POLICY_TRIM_IDENTIFIER | VERIKIT_POLICY_LOWERCASE_IDENTIFIER |
                         VERIKIT_POLICY_REUSABLE | VERIKIT_POLICY_REVOKE_ALL_ON_USE;
  if ((in->flags & ~known) != 0) return set_error(VERIKIT_E_CONFIG, "policy flags has unknown bits");
  if (in->ttl_seconds != 0) p.ttl = std::chrono::seconds(in->ttl_seconds);
  if (in->max_attempts != 0) p.max_attempts = static_cast<int>(std::min<uint32_t>(in->max_attempts, 1000000));
  if (in->otp_length != 0) p.otp_length = static_cast<int>(std::min<uint32_t>(in->otp_length, 1000));
  p.alphabet = static_cast<verikit::Alphabet>(in->alphabet);
  p.reissue = static_cast<verikit::Reissue>(in->reissue);
  p.trim_identifier = (in->flags & VERIKIT_POLICY_TRIM_IDENTIFIER) != 0;
  p.lowercase_identifier = (in->flags & VERIKIT_POLICY_LOWERCASE_IDENTIFIER) != 0;
  p.one_time_use = (in->flags & VERIKIT_POLICY_REUSABLE) == 0;
  p.revoke_all_on_use = (in->flags & VERIKIT_POLICY_REVOKE_ALL_ON_USE) != 0;
  if (in->token_bytes != 0) p.token_bytes = static_cast<int>(std::min<uint32_t>(in->token_bytes, 1000));
  if (in->link_param != nullptr) p.link_param = in->link_param;
  if (auto s = verikit::validate(p); !s) return set_error(s.error());
  return VERIKIT_OK;
}

}  // namespace

extern "C" {

VERIKIT_EXTERN(int) verikit_policy_init(verikit_policy* policy, unsigned int version) {
  if (policy == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "policy is NULL");
  if (version != VERIKIT_POLICY_VERSION)
    return set_error(VERIKIT_E_VERSION, "verikit_policy_init: unknown version " + std::to_string(version));
  *policy = verikit_policy VERIKIT_POLICY_INIT;
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
