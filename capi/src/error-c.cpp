// verikit C API — thread-local last error, error names, version and constants.
#include <cstring>

#include "capi_internal.hpp"
#include "verikit/schema.hpp"

namespace {
struct LastError {
  int code = VERIKIT_OK;
  char message[1024] = "";
};
thread_local LastError last_error;
}  // namespace

namespace verikit::capi {

int set_error(int code, std::string_view message) noexcept {
  last_error.code = code;
  const std::size_t n = std::min(message.size(), sizeof(last_error.message) - 1);
  std::memcpy(last_error.message, message.data(), n);
  last_error.message[n] = '\0';
  return code;
}

int set_error(const verikit::Error& error) noexcept {
  return set_error(static_cast<int>(error.code), error.message);
}

}  // namespace verikit::capi

extern "C" {

VERIKIT_EXTERN(int) verikit_error_code(void) { return last_error.code; }
VERIKIT_EXTERN(const char*) verikit_error_message(void) { return last_error.message; }
VERIKIT_EXTERN(void) verikit_error_clear(void) {
  last_error.code = VERIKIT_OK;
  last_error.message[0] = '\0';
}

VERIKIT_EXTERN(const char*) verikit_error_name(int code) {
  if (code == VERIKIT_OK) return "VERIKIT_OK";
  for (const verikit::ErrorInfo& e : verikit::error_kinds())
    if (static_cast<int>(e.code) == code) return e.c_name.data();  // literals: NUL-terminated
  return "VERIKIT_E_UNKNOWN";
}

VERIKIT_EXTERN(size_t) verikit_error_kind_count(void) { return verikit::error_kinds().size(); }

VERIKIT_EXTERN(int) verikit_error_kind(size_t i, int* code_out, const char** name_out, const char** class_out,
                                       int* parent_out, const char** doc_out) {
  const auto kinds = verikit::error_kinds();
  if (i >= kinds.size()) return verikit::capi::set_error(VERIKIT_E_INVALID_ARGUMENT, "no error kind " + std::to_string(i));
  const verikit::ErrorInfo& e = kinds[i];
  if (code_out) *code_out = static_cast<int>(e.code);
  if (name_out) *name_out = e.name.data();
  if (class_out) *class_out = e.class_name.empty() ? "" : e.class_name.data();
  if (parent_out) *parent_out = static_cast<int>(e.parent);
  if (doc_out) *doc_out = e.doc.data();
  return VERIKIT_OK;
}

VERIKIT_EXTERN(int) verikit_status_ok(int status) {
  return status >= 0 && verikit::is_ok(static_cast<verikit::Outcome>(status)) ? 1 : 0;
}

VERIKIT_EXTERN(size_t) verikit_status_count(void) { return verikit::statuses().size(); }

VERIKIT_EXTERN(int) verikit_status_info(size_t i, const char** name_out, int* ok_out, const char** doc_out) {
  const auto all = verikit::statuses();
  if (i >= all.size()) return verikit::capi::set_error(VERIKIT_E_INVALID_ARGUMENT, "no status " + std::to_string(i));
  if (name_out) *name_out = all[i].name.data();
  if (ok_out) *ok_out = all[i].ok ? 1 : 0;
  if (doc_out) *doc_out = all[i].doc.data();
  return VERIKIT_OK;
}

VERIKIT_EXTERN(const char*) verikit_version(void) { return VERIKIT_VERSION_STRING; }
VERIKIT_EXTERN(int) verikit_version_number(void) { return VERIKIT_VERSION_NUMBER; }
VERIKIT_EXTERN(size_t) verikit_key_bytes(void) { return VERIKIT_KEY_BYTES; }

}  // extern "C"
