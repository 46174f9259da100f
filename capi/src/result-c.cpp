// verikit C API — result records and their getters.
#include "capi_internal.hpp"

using verikit::capi::set_error;

namespace verikit::capi {

int deliver(verikit::Expected<verikit::Result>&& r, verikit_result** out) noexcept {
  return guard([&] {
    if (!r) return set_error(r.error());
    *out = new verikit_result{std::move(r).value()};
    return VERIKIT_OK;
  });
}

}  // namespace verikit::capi

namespace {

template <class T, class F>
int get(const verikit_result* result, T* out, F&& read) {
  if (result == nullptr || out == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "result or out is NULL");
  *out = read(result->r);
  return VERIKIT_OK;
}

template <class C>
int get_bytes(const verikit_result* result, const C** data_out, size_t* len_out, std::string_view value) {
  if (result == nullptr || data_out == nullptr || len_out == nullptr)
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "result, data_out or len_out is NULL");
  *data_out = reinterpret_cast<const C*>(value.data());
  *len_out = value.size();
  return VERIKIT_OK;
}

std::string_view view_or_empty(const verikit_result* r, std::string_view (*field)(const verikit::Result&)) {
  return r == nullptr ? std::string_view{} : field(r->r);
}

}  // namespace

extern "C" {

VERIKIT_EXTERN(void) verikit_result_free(verikit_result* result) { delete result; }

VERIKIT_EXTERN(int) verikit_result_status(const verikit_result* result, int* status_out) {
  return get(result, status_out, [](const verikit::Result& r) { return static_cast<int>(r.outcome); });
}

VERIKIT_EXTERN(const char*) verikit_status_name(int status) {
  return status < 0 ? "unknown" : verikit::to_string(static_cast<verikit::Outcome>(status));
}

VERIKIT_EXTERN(int) verikit_result_secret(const verikit_result* result, const char** data_out, size_t* len_out) {
  return get_bytes(result, data_out, len_out,
                   view_or_empty(result, [](const verikit::Result& r) { return r.secret.view(); }));
}
VERIKIT_EXTERN(int) verikit_result_code_count(const verikit_result* result, size_t* count_out) {
  return get(result, count_out, [](const verikit::Result& r) { return r.codes.size(); });
}
VERIKIT_EXTERN(int) verikit_result_code(const verikit_result* result, size_t i, const char** data_out, size_t* len_out) {
  if (result != nullptr && i >= result->r.codes.size())
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "no recovery code " + std::to_string(i) + " in this result");
  return get_bytes(result, data_out, len_out, result == nullptr ? std::string_view{} : result->r.codes[i].view());
}
VERIKIT_EXTERN(int) verikit_result_url(const verikit_result* result, const char** data_out, size_t* len_out) {
  return get_bytes(result, data_out, len_out,
                   view_or_empty(result, [](const verikit::Result& r) { return std::string_view(r.url); }));
}
VERIKIT_EXTERN(int) verikit_result_pending(const verikit_result* result, const char** data_out, size_t* len_out) {
  return get_bytes(result, data_out, len_out,
                   view_or_empty(result, [](const verikit::Result& r) { return r.pending.view(); }));
}
VERIKIT_EXTERN(int) verikit_result_purpose(const verikit_result* result, const char** data_out, size_t* len_out) {
  return get_bytes(result, data_out, len_out,
                   view_or_empty(result, [](const verikit::Result& r) { return std::string_view(r.purpose); }));
}
VERIKIT_EXTERN(int) verikit_result_identifier(const verikit_result* result, const char** data_out, size_t* len_out) {
  return get_bytes(result, data_out, len_out,
                   view_or_empty(result, [](const verikit::Result& r) { return std::string_view(r.identifier); }));
}
VERIKIT_EXTERN(int) verikit_result_payload(const verikit_result* result, const uint8_t** data_out, size_t* len_out) {
  return get_bytes(result, data_out, len_out,
                   view_or_empty(result, [](const verikit::Result& r) { return r.payload.view(); }));
}

VERIKIT_EXTERN(int) verikit_result_expires_at_ms(const verikit_result* result, int64_t* ms_out) {
  return get(result, ms_out, [](const verikit::Result& r) -> int64_t {
    return r.expires_at ? r.expires_at->time_since_epoch().count() : 0;
  });
}
VERIKIT_EXTERN(int) verikit_result_attempts_remaining(const verikit_result* result, int32_t* attempts_out) {
  return get(result, attempts_out, [](const verikit::Result& r) { return static_cast<int32_t>(r.attempts_remaining); });
}
VERIKIT_EXTERN(int) verikit_result_retry_after_ms(const verikit_result* result, int64_t* ms_out) {
  return get(result, ms_out, [](const verikit::Result& r) { return static_cast<int64_t>(r.retry_after.count()); });
}
VERIKIT_EXTERN(int) verikit_result_active_tokens(const verikit_result* result, int32_t* count_out) {
  return get(result, count_out, [](const verikit::Result& r) { return static_cast<int32_t>(r.active_tokens); });
}

VERIKIT_EXTERN(int) verikit_result_replicas_confirmed(const verikit_result* result, int32_t* replicas_out) {
  return get(result, replicas_out, [](const verikit::Result& r) { return static_cast<int32_t>(r.replicas_confirmed); });
}

VERIKIT_EXTERN(int) verikit_result_reused(const verikit_result* result, int* reused_out) {
  return get(result, reused_out, [](const verikit::Result& r) { return r.reused ? 1 : 0; });
}

VERIKIT_EXTERN(int) verikit_result_counter(const verikit_result* result, int counter, int64_t* value_out) {
  if (result == nullptr || value_out == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "result or value_out is NULL");
  if (!result->r.counters) return set_error(VERIKIT_E_INVALID_ARGUMENT, "counters come only with verikit_inspect results");
  const verikit::Counters& c = *result->r.counters;
  auto ms = [](const std::optional<verikit::TimePoint>& t) -> int64_t { return t ? t->time_since_epoch().count() : 0; };
  switch (counter) {
    case VERIKIT_COUNTER_FAILURES: *value_out = c.failures; break;
    case VERIKIT_COUNTER_FAILURES_RESET_AT_MS: *value_out = ms(c.failures_reset_at); break;
    case VERIKIT_COUNTER_LOCKED_UNTIL_MS: *value_out = ms(c.locked_until); break;
    case VERIKIT_COUNTER_LOCKOUT_LEVEL: *value_out = 0; break;  // no levels since 0.2
    case VERIKIT_COUNTER_LOCKOUT_LEVEL_RESET_AT_MS: *value_out = 0; break;
    case VERIKIT_COUNTER_GUESSES_AVAILABLE: *value_out = c.guesses_available; break;
    case VERIKIT_COUNTER_COOLDOWN_UNTIL_MS: *value_out = ms(c.cooldown_until); break;
    case VERIKIT_COUNTER_SENDS_AVAILABLE: *value_out = c.sends_available; break;
    case VERIKIT_COUNTER_SEND_LIMIT_RESET_AT_MS: *value_out = ms(c.send_limit_reset_at); break;
    default: return set_error(VERIKIT_E_INVALID_ARGUMENT, "unknown counter " + std::to_string(counter));
  }
  return VERIKIT_OK;
}

}  // extern "C"
