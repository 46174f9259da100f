// verikit C API — lifecycle events: the handler in the configuration and the event getters.
#include "capi_internal.hpp"

using verikit::capi::guard;
using verikit::capi::set_error;

static_assert(VERIKIT_CREDENTIAL_ALL == static_cast<int>(verikit::Credential::all));
static_assert(VERIKIT_CREDENTIAL_SECOND_FACTORS == static_cast<int>(verikit::Credential::second_factors));
static_assert(VERIKIT_CREDENTIAL_RECOVERY_CODE == static_cast<int>(verikit::Credential::recovery_code));
static_assert(VERIKIT_CREDENTIAL_TOTP == static_cast<int>(verikit::Credential::totp));
static_assert(VERIKIT_EVENT_UNLOCKED == static_cast<int>(verikit::EventKind::unlocked));

namespace {

template <class T, class F>
int get(const verikit_event* event, T* out, F&& read) {
  if (event == nullptr || event->e == nullptr || out == nullptr)
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "event or out is NULL");
  *out = read(*event->e);
  return VERIKIT_OK;
}

int get_text(const verikit_event* event, const char** data_out, size_t* len_out,
             const std::string& (*field)(const verikit::Event&)) {
  if (event == nullptr || event->e == nullptr || data_out == nullptr || len_out == nullptr)
    return set_error(VERIKIT_E_INVALID_ARGUMENT, "event, data_out or len_out is NULL");
  const std::string& text = field(*event->e);
  *data_out = text.c_str();
  *len_out = text.size();
  return VERIKIT_OK;
}

}  // namespace

extern "C" {

VERIKIT_EXTERN(int) verikit_config_set_event_handler(verikit_config* config, verikit_event_handler handler, void* user) {
  return guard([&] {
    if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
    if (handler == nullptr) {
      config->config.on_event = nullptr;
      return VERIKIT_OK;
    }
    config->config.on_event = [handler, user](const verikit::Event& e) {
      const verikit_event event{&e};
      handler(user, &event);
    };
    return VERIKIT_OK;
  });
}

VERIKIT_EXTERN(int) verikit_config_set_event_queue_capacity(verikit_config* config, size_t capacity) {
  if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
  config->config.event_queue_capacity = capacity;
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_config_set_events_include_identifier(verikit_config* config, int include) {
  if (config == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "config is NULL");
  config->config.events_include_identifier = include != 0;
  return VERIKIT_OK;
}

VERIKIT_EXTERN(const char*) verikit_event_name(const verikit_event* event) {
  return event == nullptr || event->e == nullptr ? "" : event->e->name();
}

VERIKIT_EXTERN(const char*) verikit_kind_name(int kind) {
  if (kind < VERIKIT_EVENT_ISSUED || kind > VERIKIT_EVENT_UNLOCKED) return "unknown";
  return verikit::to_string(static_cast<verikit::EventKind>(kind));
}

VERIKIT_EXTERN(const char*) verikit_credential_name(int credential) {
  if (credential < VERIKIT_CREDENTIAL_OTP || credential > VERIKIT_CREDENTIAL_TOTP) return "unknown";
  return verikit::to_string(static_cast<verikit::Credential>(credential));
}

VERIKIT_EXTERN(int) verikit_event_kind(const verikit_event* event, int* kind_out) {
  return get(event, kind_out, [](const verikit::Event& e) { return static_cast<int>(e.kind); });
}
VERIKIT_EXTERN(int) verikit_event_credential(const verikit_event* event, int* credential_out) {
  return get(event, credential_out, [](const verikit::Event& e) { return static_cast<int>(e.credential); });
}
VERIKIT_EXTERN(int) verikit_event_status(const verikit_event* event, int* status_out) {
  return get(event, status_out, [](const verikit::Event& e) { return e.status; });
}
VERIKIT_EXTERN(int) verikit_event_purpose(const verikit_event* event, const char** data_out, size_t* len_out) {
  return get_text(event, data_out, len_out, [](const verikit::Event& e) -> const std::string& { return e.purpose; });
}
VERIKIT_EXTERN(int) verikit_event_identifier_tag(const verikit_event* event, const char** data_out, size_t* len_out) {
  return get_text(event, data_out, len_out, [](const verikit::Event& e) -> const std::string& { return e.identifier_tag; });
}
VERIKIT_EXTERN(int) verikit_event_identifier(const verikit_event* event, const char** data_out, size_t* len_out) {
  return get_text(event, data_out, len_out, [](const verikit::Event& e) -> const std::string& { return e.identifier; });
}
VERIKIT_EXTERN(int) verikit_event_client_tag(const verikit_event* event, const char** data_out, size_t* len_out) {
  return get_text(event, data_out, len_out, [](const verikit::Event& e) -> const std::string& { return e.client_tag; });
}
VERIKIT_EXTERN(int) verikit_event_attempts(const verikit_event* event, int32_t* used_out, int32_t* remaining_out) {
  if (event == nullptr || event->e == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "event is NULL");
  if (used_out != nullptr) *used_out = event->e->attempts_used;
  if (remaining_out != nullptr) *remaining_out = event->e->attempts_remaining;
  return VERIKIT_OK;
}
VERIKIT_EXTERN(int) verikit_event_retry_after_ms(const verikit_event* event, int64_t* ms_out) {
  return get(event, ms_out, [](const verikit::Event& e) { return static_cast<int64_t>(e.retry_after.count()); });
}
VERIKIT_EXTERN(int) verikit_event_count(const verikit_event* event, int32_t* count_out) {
  return get(event, count_out, [](const verikit::Event& e) { return static_cast<int32_t>(e.count); });
}
VERIKIT_EXTERN(int) verikit_event_at_ms(const verikit_event* event, int64_t* ms_out) {
  return get(event, ms_out, [](const verikit::Event& e) { return static_cast<int64_t>(e.at.time_since_epoch().count()); });
}

VERIKIT_EXTERN(int) verikit_engine_event_counts(verikit_engine* engine, uint64_t* delivered_out, uint64_t* dropped_out) {
  if (engine == nullptr) return set_error(VERIKIT_E_INVALID_ARGUMENT, "engine is NULL");
  const verikit::EventCounts n = engine->engine->event_counts();
  if (delivered_out != nullptr) *delivered_out = n.delivered;
  if (dropped_out != nullptr) *dropped_out = n.dropped;
  return VERIKIT_OK;
}

}  // extern "C"
