// Compiles verikit.h as C++ (-Wall -Wextra -pedantic -Werror): extern "C" linkage, no C-only syntax.
#include "verikit.h"

#include <type_traits>

static_assert(std::is_same_v<decltype(&verikit_version), const char* (*)()>);
static_assert(VERIKIT_STATUS_COOLDOWN == 8);

int verikit_header_cxx_check() {
  verikit_policy policy = VERIKIT_POLICY_INIT;
  verikit_issue_options options = VERIKIT_ISSUE_OPTIONS_INIT;
  return static_cast<int>(policy.version + options.version);
}
