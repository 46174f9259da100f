// verikit C API — thread-local last error, error names, version and constants.
#include <cstring>

#include "capi_internal.hpp"

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
  switch (code) {
    case VERIKIT_OK: return "VERIKIT_OK";
    case VERIKIT_E_INVALID_ARGUMENT: return "VERIKIT_E_INVALID_ARGUMENT";
    case VERIKIT_E_CONFIG: return "VERIKIT_E_CONFIG";
    case VERIKIT_E_STORE_UNAVAILABLE: return "VERIKIT_E_STORE_UNAVAILABLE";
    case VERIKIT_E_STORE_PROTOCOL: return "VERIKIT_E_STORE_PROTOCOL";
    case VERIKIT_E_TIMEOUT: return "VERIKIT_E_TIMEOUT";
    case VERIKIT_E_NO_MEMORY: return "VERIKIT_E_NO_MEMORY";
    case VERIKIT_E_UNSUPPORTED: return "VERIKIT_E_UNSUPPORTED";
    case VERIKIT_E_VERSION: return "VERIKIT_E_VERSION";
    case VERIKIT_E_CRYPTO: return "VERIKIT_E_CRYPTO";
    case VERIKIT_E_INTERNAL: return "VERIKIT_E_INTERNAL";
    default: return "VERIKIT_E_UNKNOWN";
  }
}

VERIKIT_EXTERN(const char*) verikit_version(void) { return VERIKIT_VERSION_STRING; }
VERIKIT_EXTERN(int) verikit_version_number(void) { return VERIKIT_VERSION_NUMBER; }
VERIKIT_EXTERN(size_t) verikit_key_bytes(void) { return VERIKIT_KEY_BYTES; }

}  // extern "C"
