/* Calls every function of the C API with NULL and invalid arguments, from C99: each must
 * return an error code (or, for frees, do nothing), never crash. Prints "N passed, M failed". */
#include <stdio.h>
#include <string.h>

#include "verikit.h"

static int passed = 0, failed = 0;

static void expect(int got, int want, const char *what) {
  if (got == want) {
    passed++;
  } else {
    failed++;
    printf("FAIL %s: got %d (%s), want %d\n", what, got, verikit_error_name(got), want);
  }
}

static void cb(void *user, int error, const char *message, verikit_result *result) {
  (void)user; (void)error; (void)message;
  verikit_result_free(result);
}

/* What the last asynchronous callback said: how often it ran, its error and what it carried. */
static int calls = 0, last_error = 1, last_count = -1, had_result = 0;

static void count_cb(void *user, int error, const char *message, int count) {
  (void)user;
  calls++;
  last_error = message != NULL ? error : 12345; /* the message is never NULL */
  last_count = count;
}

static void result_cb(void *user, int error, const char *message, verikit_result *result) {
  (void)user;
  calls++;
  last_error = message != NULL ? error : 12345;
  had_result = result != NULL;
  verikit_result_free(result);
}

/* An argument error of an asynchronous call: the call returns VERIKIT_OK and the callback runs
 * once, before it returns (embedded store), with VERIKIT_E_INVALID_ARGUMENT and no value: a
 * count of 0 (count callbacks, want_count 0) or no result (result callbacks, want_count -1: the
 * count is not touched). */
static void expect_callback_error(int rc, int want_count, const char *what) {
  expect(rc, VERIKIT_OK, what);
  expect(calls, 1, what);
  expect(last_error, VERIKIT_E_INVALID_ARGUMENT, what);
  expect(last_count, want_count, what);
  expect(had_result, 0, what);
  calls = 0;
  last_error = 1;
  last_count = -1;
  had_result = 0;
}

int main(void) {
  const int E = VERIKIT_E_INVALID_ARGUMENT;
  verikit_config *c = NULL;
  verikit_engine *e = NULL;
  verikit_result *r = NULL;
  verikit_store_report *report = NULL;
  verikit_policy p = VERIKIT_POLICY_INIT;
  verikit_issue_options io = VERIKIT_ISSUE_OPTIONS_INIT;
  verikit_verify_options vo = VERIKIT_VERIFY_OPTIONS_INIT;
  const char *d = NULL;
  const uint8_t *b = NULL;
  size_t n = 0;
  int i = 0;
  int64_t v = 0;
  int32_t i32 = 0;
  uint8_t key[VERIKIT_KEY_BYTES] = {0};

  /* configuration */
  expect(verikit_config_new(NULL), E, "config_new");
  expect(verikit_config_set_store(NULL, "memory://"), E, "set_store");
  expect(verikit_config_set_key_prefix(NULL, "vk"), E, "set_key_prefix");
  expect(verikit_config_set_key(NULL, 1, key, sizeof key), E, "set_key");
  expect(verikit_config_add_previous_key(NULL, 1, key, sizeof key), E, "add_previous_key");
  expect(verikit_config_set_default_policy(NULL, &p), E, "set_default_policy");
  expect(verikit_config_set_policy(NULL, "login", &p), E, "set_policy");
  expect(verikit_policy_init(NULL, VERIKIT_POLICY_VERSION), E, "policy_init");
  expect(verikit_issue_options_init(NULL, VERIKIT_ISSUE_OPTIONS_VERSION), E, "issue_options_init");
  expect(verikit_verify_options_init(NULL, VERIKIT_VERIFY_OPTIONS_VERSION), E, "verify_options_init");
  expect(verikit_key_generate(NULL, 32), E, "key_generate NULL");
  expect(verikit_key_generate(key, 31), E, "key_generate short");
  expect(verikit_config_new(&c), VERIKIT_OK, "config_new ok");
  expect(verikit_config_set_store(c, NULL), E, "set_store NULL url");
  expect(verikit_config_set_key_prefix(c, NULL), E, "set_key_prefix NULL");
  expect(verikit_config_set_key(c, 1, NULL, 32), E, "set_key NULL key");
  expect(verikit_config_add_previous_key(c, 1, key, 0), E, "add_previous_key empty");
  expect(verikit_config_set_index_key(NULL, key, sizeof key), E, "set_index_key");
  expect(verikit_config_set_index_key(c, NULL, 0), E, "set_index_key NULL");
  expect(verikit_config_set_policy_field(NULL, NULL, "ttl", "5"), E, "set_policy_field");
  expect(verikit_config_set_abuse_controls(NULL, 0), E, "set_abuse_controls");
  expect(verikit_engine_metrics(NULL, NULL, 0, NULL), E, "engine_metrics");
  expect(verikit_store_check(NULL, c, 0), E, "store_check NULL out");
  report = (verikit_store_report *)&n; /* not a report: must be overwritten with NULL */
  expect(verikit_store_check(&report, NULL, 0), E, "store_check NULL config");
  expect(report == NULL ? VERIKIT_OK : -99, VERIKIT_OK, "store_check sets *out to NULL");
  expect(verikit_store_check(&report, c, 0), E, "store_check of memory://");
  expect(verikit_store_report_item(NULL, 0, NULL, NULL, NULL), E, "store_report_item");
  expect(verikit_store_report_count(NULL) == 0 ? VERIKIT_OK : -99, VERIKIT_OK, "store_report_count NULL");
  expect(verikit_engine_event_counts(NULL, NULL, NULL), E, "engine_event_counts");
  expect(verikit_config_set_event_handler(NULL, NULL, NULL), E, "config_set_event_handler");
  expect(verikit_config_set_event_queue_capacity(NULL, 1), E, "config_set_event_queue_capacity");
  expect(verikit_config_set_events_include_identifier(NULL, 1), E, "config_set_events_include_identifier");
  {
    const char *text = NULL;
    size_t len = 0;
    int32_t n32 = 0;
    int64_t n64 = 0;
    int v = 0;
    expect(verikit_event_kind(NULL, &v), E, "event_kind");
    expect(verikit_event_credential(NULL, &v), E, "event_credential");
    expect(verikit_event_status(NULL, &v), E, "event_status");
    expect(verikit_event_purpose(NULL, &text, &len), E, "event_purpose");
    expect(verikit_event_identifier_tag(NULL, &text, &len), E, "event_identifier_tag");
    expect(verikit_event_identifier(NULL, &text, &len), E, "event_identifier");
    expect(verikit_event_client_tag(NULL, &text, &len), E, "event_client_tag");
    expect(verikit_event_attempts(NULL, &n32, &n32), E, "event_attempts");
    expect(verikit_event_retry_after_ms(NULL, &n64), E, "event_retry_after_ms");
    expect(verikit_event_count(NULL, &n32), E, "event_count");
    expect(verikit_event_at_ms(NULL, &n64), E, "event_at_ms");
    expect(verikit_event_name(NULL)[0] == '\0', 1, "event_name");
    expect(strcmp(verikit_kind_name(-1), "unknown") == 0, 1, "kind_name");
    expect(strcmp(verikit_credential_name(99), "unknown") == 0, 1, "credential_name");
  }
  expect(verikit_config_set_policy_field(c, NULL, NULL, "5"), E, "set_policy_field NULL field");
  expect(verikit_config_set_policy_field(c, NULL, "ttl", NULL), E, "set_policy_field NULL value");
  expect(verikit_policy_field(verikit_policy_field_count(), NULL, NULL, NULL, NULL, NULL, NULL), E, "policy_field out of range");
  expect(verikit_config_set_option(NULL, "key_prefix", "x"), E, "set_option NULL config");
  expect(verikit_config_set_option(c, NULL, "x"), E, "set_option NULL name");
  expect(verikit_config_set_option(c, "key_prefix", NULL), E, "set_option NULL value");
  expect(verikit_config_option(verikit_config_option_count(), NULL, NULL, NULL, NULL, NULL), E, "config_option out of range");
  expect(verikit_config_set_default_policy(c, NULL), E, "set_default_policy NULL");
  expect(verikit_config_set_policy(c, NULL, &p), E, "set_policy NULL purpose");
  expect(verikit_config_set_policy(c, "login", NULL), E, "set_policy NULL policy");
  p.version = 0;
  expect(verikit_config_set_policy(c, "login", &p), VERIKIT_E_VERSION, "policy version 0");
  expect(verikit_engine_new(NULL, c), E, "engine_new NULL out");
  expect(verikit_engine_new(&e, NULL), E, "engine_new NULL config");
  expect(verikit_engine_new(&e, c), VERIKIT_OK, "engine_new ok");

  /* operations */
  expect(verikit_otp_issue(NULL, e, "login", "a", 1, NULL), E, "otp_issue NULL out");
  expect(verikit_otp_issue(&r, NULL, "login", "a", 1, NULL), E, "otp_issue NULL engine");
  expect(verikit_otp_issue(&r, e, NULL, "a", 1, NULL), E, "otp_issue NULL purpose");
  expect(verikit_otp_issue(&r, e, "login", NULL, 1, NULL), E, "otp_issue NULL id");
  io.payload_len = 3;
  expect(verikit_otp_issue(&r, e, "login", "a", 1, &io), E, "otp_issue NULL payload");
  io.payload_len = 0;
  io.client_key_len = 2;
  expect(verikit_token_issue(&r, e, "login", "a", 1, &io), E, "token_issue NULL client key");
  io.client_key_len = 0;
  io.version = 99;
  expect(verikit_link_issue(&r, e, "login", "a", 1, "https://e.com", &io), VERIKIT_E_VERSION, "link_issue version");
  expect(verikit_otp_verify(NULL, e, "login", "a", 1, "1", 1, NULL), E, "otp_verify NULL out");
  expect(verikit_otp_verify(&r, NULL, "login", "a", 1, "1", 1, NULL), E, "otp_verify NULL engine");
  expect(verikit_otp_verify(&r, e, "login", "a", 1, NULL, 1, NULL), E, "otp_verify NULL code");
  vo.client_key_len = 1;
  expect(verikit_otp_verify(&r, e, "login", "a", 1, "1", 1, &vo), E, "otp_verify NULL client key");
  expect(verikit_otp_revoke(&i, NULL, "login", "a", 1), E, "otp_revoke NULL engine");
  expect(verikit_otp_revoke(&i, e, "login", NULL, 1), E, "otp_revoke NULL id");
  expect(verikit_token_issue(NULL, e, "login", "a", 1, NULL), E, "token_issue NULL out");
  expect(verikit_token_verify(&r, e, NULL, NULL, 1), E, "token_verify NULL token");
  expect(verikit_token_verify(&r, NULL, NULL, "t", 1), E, "token_verify NULL engine");
  expect(verikit_token_peek(NULL, e, NULL, "t", 1), E, "token_peek NULL out");
  expect(verikit_token_revoke(&i, e, NULL, 1), E, "token_revoke NULL token");
  expect(verikit_link_issue(&r, e, "login", "a", 1, NULL, NULL), E, "link_issue NULL base");
  expect(verikit_link_issue(&r, e, "login", "a", 1, "not a url", NULL), E, "link_issue bad base");
  expect(verikit_link_peek(&r, NULL, "login", "t", 1), E, "link_peek NULL engine");
  expect(verikit_link_consume(&r, e, "login", NULL, 1), E, "link_consume NULL token");
  expect(verikit_link_revoke(&i, NULL, "t", 1), E, "link_revoke NULL engine");
  expect(verikit_revoke_all(&i, e, NULL, "a", 1), E, "revoke_all NULL purpose");
  expect(verikit_totp_begin(&r, e, "login", NULL, 1, "Acme"), E, "totp_begin NULL id");
  expect(verikit_totp_begin(&r, e, "login", "a", 1, NULL), E, "totp_begin NULL issuer");
  expect(verikit_totp_begin(NULL, e, "login", "a", 1, "Acme"), E, "totp_begin NULL out");
  expect(verikit_totp_confirm(&r, e, "login", "a", 1, NULL, 1, "123456", 6, NULL), E, "totp_confirm NULL pending");
  expect(verikit_totp_confirm(&r, e, "login", "a", 1, "p", 1, NULL, 6, NULL), E, "totp_confirm NULL code");
  expect(verikit_totp_confirm(&r, NULL, "login", "a", 1, "p", 1, "123456", 6, NULL), E, "totp_confirm NULL engine");
  expect(verikit_result_pending(NULL, NULL, NULL), E, "result_pending NULL");
  expect(verikit_revoke_second_factors(&i, e, NULL, "a", 1), E, "revoke_second_factors NULL purpose");
  expect(verikit_revoke_second_factors(&i, e, "login", NULL, 1), E, "revoke_second_factors NULL id");
  expect(verikit_revoke_second_factors(&i, NULL, "login", "a", 1), E, "revoke_second_factors NULL engine");
  expect(verikit_inspect(NULL, e, "login", "a", 1), E, "inspect NULL out");
  expect(verikit_unlock(&i, e, "login", NULL, 1), E, "unlock NULL id");
  expect(verikit_unlock(&i, NULL, "login", "a", 1), E, "unlock NULL engine");
  expect(verikit_otp_issue(&r, e, "login", "", 0, NULL), E, "otp_issue empty id");
  expect(verikit_otp_issue(&r, e, "bad purpose", "a", 1, NULL), E, "otp_issue bad purpose");

  /* asynchronous forms: NULL engine or callback is refused at once */
  expect(verikit_otp_issue_async(NULL, "login", "a", 1, NULL, cb, NULL), E, "otp_issue_async NULL engine");
  expect(verikit_otp_verify_async(e, "login", "a", 1, "1", 1, NULL, NULL, NULL), E, "otp_verify_async NULL cb");
  expect(verikit_token_issue_async(NULL, "login", "a", 1, NULL, cb, NULL), E, "token_issue_async");
  expect(verikit_token_verify_async(e, "login", "t", 1, NULL, NULL), E, "token_verify_async");
  expect(verikit_token_peek_async(NULL, "login", "t", 1, cb, NULL), E, "token_peek_async");
  expect(verikit_link_issue_async(e, "login", "a", 1, "https://e.com", NULL, NULL, NULL), E, "link_issue_async");
  expect(verikit_link_peek_async(NULL, "login", "t", 1, cb, NULL), E, "link_peek_async");
  expect(verikit_link_consume_async(e, "login", "t", 1, NULL, NULL), E, "link_consume_async");

  /* 0.2: revoke, revoke-all, inspect and unlock, asynchronously. NULL engine or callback: refused
   * at once, and the callback never runs; every other bad argument: through the callback. */
  expect(verikit_otp_revoke_async(NULL, "login", "a", 1, count_cb, NULL), E, "otp_revoke_async NULL engine");
  expect(verikit_otp_revoke_async(e, "login", "a", 1, NULL, NULL), E, "otp_revoke_async NULL cb");
  expect(verikit_token_revoke_async(NULL, "t", 1, count_cb, NULL), E, "token_revoke_async NULL engine");
  expect(verikit_token_revoke_async(e, "t", 1, NULL, NULL), E, "token_revoke_async NULL cb");
  expect(verikit_link_revoke_async(NULL, "t", 1, count_cb, NULL), E, "link_revoke_async NULL engine");
  expect(verikit_link_revoke_async(e, "t", 1, NULL, NULL), E, "link_revoke_async NULL cb");
  expect(verikit_revoke_all_async(NULL, "login", "a", 1, count_cb, NULL), E, "revoke_all_async NULL engine");
  expect(verikit_revoke_all_async(e, "login", "a", 1, NULL, NULL), E, "revoke_all_async NULL cb");
  expect(verikit_revoke_second_factors_async(NULL, "login", "a", 1, count_cb, NULL), E,
         "revoke_second_factors_async NULL engine");
  expect(verikit_revoke_second_factors_async(e, "login", "a", 1, NULL, NULL), E, "revoke_second_factors_async NULL cb");
  expect(verikit_inspect_async(NULL, "login", "a", 1, result_cb, NULL), E, "inspect_async NULL engine");
  expect(verikit_inspect_async(e, "login", "a", 1, NULL, NULL), E, "inspect_async NULL cb");
  expect(verikit_unlock_async(NULL, "login", "a", 1, count_cb, NULL), E, "unlock_async NULL engine");
  expect(verikit_unlock_async(e, "login", "a", 1, NULL, NULL), E, "unlock_async NULL cb");
  expect(calls, 0, "no callback for a refused call");
  expect_callback_error(verikit_otp_revoke_async(e, NULL, "a", 1, count_cb, NULL), 0, "otp_revoke_async NULL purpose");
  expect_callback_error(verikit_otp_revoke_async(e, "login", NULL, 1, count_cb, NULL), 0, "otp_revoke_async NULL id");
  expect_callback_error(verikit_token_revoke_async(e, NULL, 1, count_cb, NULL), 0, "token_revoke_async NULL token");
  expect_callback_error(verikit_token_revoke_async(e, NULL, 0, count_cb, NULL), 0, "token_revoke_async empty token");
  expect_callback_error(verikit_link_revoke_async(e, NULL, 1, count_cb, NULL), 0, "link_revoke_async NULL token");
  expect_callback_error(verikit_revoke_all_async(e, NULL, "a", 1, count_cb, NULL), 0, "revoke_all_async NULL purpose");
  expect_callback_error(verikit_revoke_all_async(e, "login", NULL, 1, count_cb, NULL), 0, "revoke_all_async NULL id");
  expect_callback_error(verikit_revoke_second_factors_async(e, NULL, "a", 1, count_cb, NULL), 0,
                        "revoke_second_factors_async NULL purpose");
  expect_callback_error(verikit_revoke_second_factors_async(e, "login", NULL, 1, count_cb, NULL), 0,
                        "revoke_second_factors_async NULL id");
  expect_callback_error(verikit_inspect_async(e, NULL, "a", 1, result_cb, NULL), -1, "inspect_async NULL purpose");
  expect_callback_error(verikit_inspect_async(e, "login", NULL, 1, result_cb, NULL), -1, "inspect_async NULL id");
  expect_callback_error(verikit_unlock_async(e, NULL, "a", 1, count_cb, NULL), 0, "unlock_async NULL purpose");
  expect_callback_error(verikit_unlock_async(e, "login", NULL, 1, count_cb, NULL), 0, "unlock_async NULL id");
  expect_callback_error(verikit_unlock_async(e, "login", "", 0, count_cb, NULL), 0, "unlock_async empty id");

  /* results */
  expect(verikit_result_status(NULL, &i), E, "result_status");
  expect(verikit_result_secret(NULL, &d, &n), E, "result_secret");
  expect(verikit_result_url(NULL, &d, &n), E, "result_url");
  expect(verikit_result_purpose(NULL, &d, &n), E, "result_purpose");
  expect(verikit_result_identifier(NULL, &d, &n), E, "result_identifier");
  expect(verikit_result_payload(NULL, &b, &n), E, "result_payload");
  expect(verikit_result_expires_at_ms(NULL, &v), E, "result_expires_at_ms");
  expect(verikit_result_attempts_remaining(NULL, &i32), E, "result_attempts_remaining");
  expect(verikit_result_retry_after_ms(NULL, &v), E, "result_retry_after_ms");
  expect(verikit_result_active_tokens(NULL, &i32), E, "result_active_tokens");
  expect(verikit_result_counter(NULL, VERIKIT_COUNTER_FAILURES, &v), E, "result_counter");
  expect(verikit_result_reused(NULL, NULL), E, "result_reused");
  expect(verikit_result_replicas_confirmed(NULL, NULL), E, "result_replicas_confirmed");
  expect(verikit_inspect(&r, e, "login", "a", 1), VERIKIT_OK, "inspect ok");
  expect(verikit_result_status(r, NULL), E, "result_status NULL out");
  expect(verikit_result_secret(r, NULL, &n), E, "result_secret NULL data");
  expect(verikit_result_counter(r, -1, &v), E, "result_counter unknown");
  expect(verikit_result_counter(r, VERIKIT_COUNTER_FAILURES, NULL), E, "result_counter NULL out");
  verikit_result_free(r);

  /* strings never NULL, frees accept NULL */
  expect(verikit_error_message() != NULL, 1, "error_message not NULL");
  expect(strcmp(verikit_error_name(12345), "VERIKIT_E_UNKNOWN") == 0, 1, "error_name unknown");
  expect(strcmp(verikit_status_name(-3), "unknown") == 0, 1, "status_name unknown");
  expect(verikit_version() != NULL && verikit_version_number() == VERIKIT_VERSION_NUMBER, 1, "version");
  expect(verikit_key_bytes() == VERIKIT_KEY_BYTES, 1, "key_bytes");
  verikit_error_clear();
  expect(verikit_error_code(), VERIKIT_OK, "error_clear");
  verikit_result_free(NULL);
  verikit_store_report_free(NULL);
  verikit_engine_free(NULL);
  verikit_config_free(NULL);
  verikit_engine_free(e);
  verikit_config_free(c);

  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
