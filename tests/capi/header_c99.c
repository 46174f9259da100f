/* Compiles verikit.h as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror) and uses its
 * macros, so a header that stops being C99 fails the build. */
#include "verikit.h"

int verikit_header_c99_check(void);
int verikit_header_c99_check(void) {
  verikit_policy policy = VERIKIT_POLICY_INIT;
  verikit_issue_options options = VERIKIT_ISSUE_OPTIONS_INIT;
  verikit_callback cb = 0;
  verikit_count_callback count_cb = 0;
  verikit_status status = VERIKIT_STATUS_VERIFIED;
  (void)cb;
  (void)count_cb;
  (void)status;
  return (int)policy.version + (int)options.version + VERIKIT_VERSION_NUMBER + VERIKIT_KEY_BYTES +
         VERIKIT_E_INTERNAL + (int)VERIKIT_POLICY_REUSABLE;
}
