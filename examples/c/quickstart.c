/*
 * verikit C quick start: loads libverikit at run time (dlopen) and runs the OTP, token and
 * magic-link flows end to end, plus one asynchronous verification, then the second factors:
 * recovery codes, and an authenticator app set up in two steps (begin, then confirm with the
 * app's first code; authenticator.h plays the app). Exits non-zero if any step
 * does not behave as documented, so the tests run it too.
 *
 *   quickstart [path/to/libverikit.so.0] [store-url]
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authenticator.h"
#include "verikit.h"

/* One pointer per C API function we use, typed from the header's declarations. */
#define VK_FUNCTIONS(X)                                                                              \
  X(verikit_version) X(verikit_error_message) X(verikit_status_name) X(verikit_config_new)          \
  X(verikit_config_free) X(verikit_config_set_store) X(verikit_config_set_policy)                   \
  X(verikit_config_set_key) X(verikit_key_generate) X(verikit_policy_init) X(verikit_engine_new)    \
  X(verikit_config_set_key_prefix)                                                                  \
  X(verikit_engine_free) X(verikit_result_free) X(verikit_result_status) X(verikit_result_secret)   \
  X(verikit_result_url) X(verikit_result_identifier) X(verikit_result_purpose)                      \
  X(verikit_result_payload) X(verikit_result_expires_at_ms) X(verikit_result_attempts_remaining)    \
  X(verikit_otp_issue) X(verikit_otp_verify) X(verikit_token_issue) X(verikit_token_verify)         \
  X(verikit_link_issue) X(verikit_link_peek) X(verikit_link_consume) X(verikit_otp_verify_async)      \
  X(verikit_result_retry_after_ms) X(verikit_recovery_generate) X(verikit_recovery_use)                \
  X(verikit_result_code_count) X(verikit_result_code) X(verikit_totp_begin) X(verikit_totp_confirm)  \
  X(verikit_totp_verify) X(verikit_result_pending) X(verikit_revoke_second_factors)

#define VK_DECLARE(name) static __typeof__(&name) vk_##name;
VK_FUNCTIONS(VK_DECLARE)

static int failures = 0;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "FAILED: %s (last error: %s)\n", what, vk_verikit_error_message());
    failures++;
  }
}

static int status_of(const verikit_result *r) {
  int status = -1;
  vk_verikit_result_status(r, &status);
  return status;
}

static const char *text(const verikit_result *r, int (*get)(const verikit_result *, const char **, size_t *)) {
  const char *data = "";
  size_t len = 0;
  get(r, &data, &len);
  return data;
}

/* Runs on the calling thread (embedded store) or on verikit's I/O thread (Redis): it only
 * records the outcome. */
static void on_verified(void *user, int error, const char *message, verikit_result *result) {
  atomic_int *status = user;
  if (error != VERIKIT_OK) {
    fprintf(stderr, "async verify failed: %s\n", message);
    atomic_store(status, -1);
    return;
  }
  atomic_store(status, status_of(result));
  vk_verikit_result_free(result);
}

static int wait_for_status(atomic_int *status) {
  struct timespec tick = {0, 1000000};
  for (int i = 0; i < 10000 && atomic_load(status) == -2; i++) nanosleep(&tick, NULL);
  return atomic_load(status);
}

static int load(const char *path) {
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
    return 0;
  }
#define VK_LOAD(name)                                                  \
  *(void **)(&vk_##name) = dlsym(lib, #name);                          \
  if (vk_##name == NULL) {                                             \
    fprintf(stderr, "%s lacks %s\n", path, #name);                     \
    return 0;                                                          \
  }
  VK_FUNCTIONS(VK_LOAD)
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "libverikit.so.0";
  const char *store = argc > 2 ? argv[2] : "memory://";
  if (!load(path)) return 2;
  printf("verikit %s, store %s\n\n", vk_verikit_version(), store);
  char rfc[7];  /* the stand-in app against RFC 6238's test vectors (their last 6 digits) */
  check(vk_totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59, 0, rfc) && strcmp(rfc, "287082") == 0 &&
            vk_totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1111111109, 0, rfc) && strcmp(rfc, "081804") == 0,
        "the stand-in authenticator app computes RFC 6238's codes");

  /* Configuration: a key (in production: from your secret store, the same on every server),
   * and a policy for password resets: every reset link dies once one is used. */
  verikit_config *config = NULL;
  uint8_t key[VERIKIT_KEY_BYTES];
  verikit_policy reset;
  check(vk_verikit_config_new(&config) == VERIKIT_OK, "config_new");
  check(vk_verikit_config_set_store(config, store) == VERIKIT_OK, "set_store");
  check(vk_verikit_key_generate(key, sizeof key) == VERIKIT_OK, "key_generate");
  check(vk_verikit_config_set_key(config, 1, key, sizeof key) == VERIKIT_OK, "set_key");
  /* A new key each run, so a key prefix of its own: a shared store's records remember the key they
   * were written with (README "Key check"). An application keeps one key and one prefix. */
  uint8_t run[VERIKIT_KEY_BYTES];
  char prefix[32];
  check(vk_verikit_key_generate(run, sizeof run) == VERIKIT_OK, "key_generate");
  snprintf(prefix, sizeof prefix, "quickstart-%02x%02x%02x%02x", run[0], run[1], run[2], run[3]);
  check(vk_verikit_config_set_key_prefix(config, prefix) == VERIKIT_OK, "set_key_prefix");
  check(vk_verikit_policy_init(&reset, VERIKIT_POLICY_VERSION) == VERIKIT_OK, "policy_init");
  reset.ttl_seconds = 1800;
  reset.flags = VERIKIT_POLICY_REVOKE_ALL_ON_USE;
  check(vk_verikit_config_set_policy(config, "reset-password", &reset) == VERIKIT_OK, "set_policy");

  verikit_engine *engine = NULL;
  if (vk_verikit_engine_new(&engine, config) != VERIKIT_OK) {
    fprintf(stderr, "engine_new: %s\n", vk_verikit_error_message());
    return 1;
  }
  vk_verikit_config_free(config);

  const char *user = "alice@example.com";
  verikit_result *r = NULL;

  /* ---- OTP: issue a code, a wrong guess, then the right code, then a replay ---- */
  printf("== one-time code (purpose login) ==\n");
  check(vk_verikit_otp_issue(&r, engine, "login", user, strlen(user), NULL) == VERIKIT_OK, "otp_issue");
  char code[16] = "";
  snprintf(code, sizeof code, "%s", text(r, vk_verikit_result_secret));
  int64_t expires = 0;
  vk_verikit_result_expires_at_ms(r, &expires);
  printf("issued code %s for %s, expires at %lld ms\n", code, user, (long long)expires);
  check(status_of(r) == VERIKIT_STATUS_ISSUED && strlen(code) == 6, "a 6-digit code is issued");
  vk_verikit_result_free(r);

  const char *wrong = strcmp(code, "000000") == 0 ? "111111" : "000000";
  check(vk_verikit_otp_verify(&r, engine, "login", user, strlen(user), wrong, 6, NULL) == VERIKIT_OK, "otp_verify");
  int32_t left = -1;
  vk_verikit_result_attempts_remaining(r, &left);
  printf("verify %s -> %s (%d attempts left)\n", wrong, vk_verikit_status_name(status_of(r)), left);
  check(status_of(r) == VERIKIT_STATUS_INVALID && left == 4, "a wrong code is invalid, 4 attempts left");
  vk_verikit_result_free(r);

  check(vk_verikit_otp_verify(&r, engine, "login", user, strlen(user), code, strlen(code), NULL) == VERIKIT_OK, "verify");
  printf("verify %s -> %s\n", code, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_VERIFIED, "the right code verifies");
  vk_verikit_result_free(r);

  check(vk_verikit_otp_verify(&r, engine, "login", user, strlen(user), code, strlen(code), NULL) == VERIKIT_OK, "replay");
  printf("verify %s again -> %s\n", code, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_NOT_FOUND, "a used code is not_found");
  vk_verikit_result_free(r);

  /* Abuse control: a second code for the same identifier within the cooldown is refused. */
  check(vk_verikit_otp_issue(&r, engine, "login", user, strlen(user), NULL) == VERIKIT_OK, "otp_issue again");
  int64_t retry = 0;
  vk_verikit_result_retry_after_ms(r, &retry);
  printf("issue again at once -> %s (retry in %lld s)\n", vk_verikit_status_name(status_of(r)),
         (long long)((retry + 999) / 1000));
  check(status_of(r) == VERIKIT_STATUS_COOLDOWN && retry > 0, "a resend within the cooldown is refused");
  vk_verikit_result_free(r);

  /* Asynchronous verification: the callback owns the result. */
  const char *other = "bob@example.com";
  check(vk_verikit_otp_issue(&r, engine, "login", other, strlen(other), NULL) == VERIKIT_OK, "otp_issue 2");
  snprintf(code, sizeof code, "%s", text(r, vk_verikit_result_secret));
  vk_verikit_result_free(r);
  atomic_int async_status = -2;
  check(vk_verikit_otp_verify_async(engine, "login", other, strlen(other), code, strlen(code), NULL, on_verified,
                                    &async_status) == VERIKIT_OK, "otp_verify_async");
  int done_status = wait_for_status(&async_status);
  printf("async verify %s for %s -> %s\n\n", code, other, vk_verikit_status_name(done_status));
  check(done_status == VERIKIT_STATUS_VERIFIED, "async verification of the right code");

  /* ---- Token: issue with a payload, verify by the token alone ---- */
  printf("== token (purpose confirm-api) ==\n");
  const char *payload = "{\"action\":\"delete-account\"}";
  verikit_issue_options opts = VERIKIT_ISSUE_OPTIONS_INIT;
  opts.payload = (const uint8_t *)payload;
  opts.payload_len = strlen(payload);
  check(vk_verikit_token_issue(&r, engine, "confirm-api", user, strlen(user), &opts) == VERIKIT_OK, "token_issue");
  char token[256] = "";
  snprintf(token, sizeof token, "%s", text(r, vk_verikit_result_secret));
  printf("issued token %s\n", token);
  check(status_of(r) == VERIKIT_STATUS_ISSUED && strlen(token) >= 43, "a token of >= 256 bits is issued");
  vk_verikit_result_free(r);

  check(vk_verikit_token_verify(&r, engine, "confirm-api", token, strlen(token)) == VERIKIT_OK, "token_verify");
  const uint8_t *pl = NULL;
  size_t pl_len = 0;
  vk_verikit_result_payload(r, &pl, &pl_len);
  printf("verify -> %s: identifier %s, purpose %s, payload %.*s\n", vk_verikit_status_name(status_of(r)),
         text(r, vk_verikit_result_identifier), text(r, vk_verikit_result_purpose), (int)pl_len, (const char *)pl);
  check(status_of(r) == VERIKIT_STATUS_VERIFIED, "the token verifies");
  check(strcmp(text(r, vk_verikit_result_identifier), user) == 0, "the token names its identifier");
  check(pl_len == strlen(payload) && memcmp(pl, payload, pl_len) == 0, "the payload comes back");
  vk_verikit_result_free(r);

  check(vk_verikit_token_verify(&r, engine, "confirm-api", token, strlen(token)) == VERIKIT_OK, "token replay");
  printf("verify again -> %s\n\n", vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_NOT_FOUND, "a used token is not_found");
  vk_verikit_result_free(r);

  /* ---- Magic link: issue, peek (confirmation page), consume ---- */
  printf("== magic link (purpose reset-password) ==\n");
  check(vk_verikit_link_issue(&r, engine, "reset-password", user, strlen(user),
                              "https://app.example.com/reset?lang=en#form", NULL) == VERIKIT_OK, "link_issue");
  printf("link %s\n", text(r, vk_verikit_result_url));
  snprintf(token, sizeof token, "%s", text(r, vk_verikit_result_secret));
  check(strncmp(text(r, vk_verikit_result_url), "https://app.example.com/reset?lang=en&token=", 44) == 0,
        "the link keeps the base's path and query");
  vk_verikit_result_free(r);

  check(vk_verikit_link_peek(&r, engine, "reset-password", token, strlen(token)) == VERIKIT_OK, "link_peek");
  printf("peek -> %s\n", vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_VALID, "peek finds the link live");
  vk_verikit_result_free(r);

  check(vk_verikit_link_consume(&r, engine, "reset-password", token, strlen(token)) == VERIKIT_OK, "link_consume");
  printf("consume -> %s (identifier %s)\n", vk_verikit_status_name(status_of(r)), text(r, vk_verikit_result_identifier));
  check(status_of(r) == VERIKIT_STATUS_VERIFIED, "the link is consumed");
  vk_verikit_result_free(r);

  check(vk_verikit_link_consume(&r, engine, "reset-password", token, strlen(token)) == VERIKIT_OK, "link replay");
  printf("consume again -> %s\n", vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_NOT_FOUND, "a used link is not_found");
  vk_verikit_result_free(r);

  /* ---- Second factors: recovery codes, and an authenticator app set up in two steps ---- */
  printf("\n== second factors (purpose login) ==\n");
  check(vk_verikit_recovery_generate(&r, engine, "login", user, strlen(user)) == VERIKIT_OK, "recovery_generate");
  size_t count = 0;
  vk_verikit_result_code_count(r, &count);
  char recovery[32] = "";
  const char *first = "";
  size_t first_len = 0;
  vk_verikit_result_code(r, 0, &first, &first_len);
  snprintf(recovery, sizeof recovery, "%s", first);
  printf("%zu recovery codes (show them once), the first %s\n", count, recovery);
  check(status_of(r) == VERIKIT_STATUS_ISSUED && count == 10, "10 recovery codes");
  vk_verikit_result_free(r);

  /* Step one: a new secret for the user's app (show its URL as a QR code); nothing is stored
   * yet. Keep the pending text server-side, in the user's session, until they confirm. */
  check(vk_verikit_totp_begin(&r, engine, "login", user, strlen(user), "Example") == VERIKIT_OK, "totp_begin");
  char secret[64] = "", pending[256] = "";
  snprintf(secret, sizeof secret, "%s", text(r, vk_verikit_result_secret));
  snprintf(pending, sizeof pending, "%s", text(r, vk_verikit_result_pending));
  printf("authenticator set-up: %s\n", text(r, vk_verikit_result_url));
  check(status_of(r) == VERIKIT_STATUS_ISSUED && strlen(pending) > 0, "a pending enrollment is begun");
  vk_verikit_result_free(r);

  /* Step two: the first code the app shows confirms it (here computed as the app would). */
  char app_code[7] = "", window[3][7];
  const long long now_s = (long long)time(NULL);
  check(vk_totp(secret, now_s, 0, app_code), "the app reads the secret");
  for (int i = 0; i < 3; i++) vk_totp(secret, now_s, i - 1, window[i]);
  const char *candidates[] = {"000000", "111111", "222222", "333333"}, *not_the_code = candidates[0];
  for (int i = 3; i >= 0; i--) /* one that none of the accepted steps has */
    if (strcmp(candidates[i], window[0]) && strcmp(candidates[i], window[1]) && strcmp(candidates[i], window[2]))
      not_the_code = candidates[i];
  check(vk_verikit_totp_confirm(&r, engine, "login", user, strlen(user), pending, strlen(pending), not_the_code, 6,
                                NULL) == VERIKIT_OK, "totp_confirm");
  printf("confirm with %s -> %s\n", not_the_code, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_INVALID, "a wrong first code does not confirm (a counted wrong guess)");
  vk_verikit_result_free(r);
  check(vk_verikit_totp_confirm(&r, engine, "login", user, strlen(user), pending, strlen(pending), app_code, 6,
                                NULL) == VERIKIT_OK, "totp_confirm");
  printf("confirm with the app's code %s -> %s\n", app_code, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_VERIFIED, "the app's first code confirms the enrollment");
  vk_verikit_result_free(r);
  check(vk_verikit_totp_verify(&r, engine, "login", user, strlen(user), app_code, 6, NULL) == VERIKIT_OK, "totp_verify");
  printf("sign in with %s again -> %s\n", app_code, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_INVALID, "a code is accepted once (the confirming one included)");
  vk_verikit_result_free(r);

  /* A lost phone: a recovery code signs in, once. */
  check(vk_verikit_recovery_use(&r, engine, "login", user, strlen(user), recovery, strlen(recovery), NULL) == VERIKIT_OK,
        "recovery_use");
  printf("recovery code %s -> %s\n", recovery, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_VERIFIED, "a recovery code verifies");
  vk_verikit_result_free(r);
  check(vk_verikit_recovery_use(&r, engine, "login", user, strlen(user), recovery, strlen(recovery), NULL) == VERIKIT_OK,
        "recovery_use again");
  printf("recovery code %s again -> %s\n", recovery, vk_verikit_status_name(status_of(r)));
  check(status_of(r) == VERIKIT_STATUS_INVALID, "a used recovery code is refused");
  vk_verikit_result_free(r);
  int removed = 0;
  check(vk_verikit_revoke_second_factors(&removed, engine, "login", user, strlen(user)) == VERIKIT_OK,
        "revoke_second_factors");
  printf("second factors removed: %d (the enrollment and 9 recovery codes)\n", removed);
  check(removed == 10, "the enrollment and the 9 codes left are removed");

  vk_verikit_engine_free(engine);
  printf("\n%s\n", failures == 0 ? "all flows behaved as documented" : "SOME FLOWS FAILED");
  return failures == 0 ? 0 : 1;
}
