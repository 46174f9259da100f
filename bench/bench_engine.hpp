// The benchmark programs' engine through the C API: one policy and one way to make it, so that
// every program measures the same engine.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "verikit.h"

// Abuse controls off (the default ones with `abuse`), many guesses per identifier (the
// wrong-code rows).
inline verikit_policy bench_policy(bool abuse = false) {
  verikit_policy p = VERIKIT_POLICY_INIT;
  p.max_attempts = 100;
  if (!abuse)
    p.flags = VERIKIT_POLICY_NO_COOLDOWN | VERIKIT_POLICY_NO_SEND_LIMIT | VERIKIT_POLICY_NO_LOCKOUT |
              VERIKIT_POLICY_NO_CLIENT_LIMITS | VERIKIT_POLICY_NO_ACTIVE_CAP;
  return p;
}

// An engine on `url` under `key` (VERIKIT_KEY_BYTES) and policy `p`, with `handler` for its
// events if given; exits the program if it cannot be made.
inline verikit_engine* bench_engine(const char* url, const uint8_t* key, const verikit_policy& p,
                                    verikit_event_handler handler = nullptr) {
  verikit_config* c = nullptr;
  verikit_config_new(&c);
  if (handler != nullptr) verikit_config_set_event_handler(c, handler, nullptr);
  verikit_config_set_store(c, url);
  verikit_config_set_key(c, 1, key, VERIKIT_KEY_BYTES);
  verikit_config_set_default_policy(c, &p);
  verikit_engine* e = nullptr;
  if (verikit_engine_new(&e, c) != VERIKIT_OK) {
    std::fprintf(stderr, "engine: %s\n", verikit_error_message());
    std::exit(1);
  }
  verikit_config_free(c);
  return e;
}
