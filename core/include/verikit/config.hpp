// verikit — configuration as data: per-purpose policies, keys, store location.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verikit/error.hpp"
#include "verikit/event.hpp"

namespace verikit {

enum class Alphabet : int {
  digits = 0,       // 0-9
  unambiguous = 1,  // upper-case letters and digits without 0 O 1 I L (31 symbols)
};

enum class Reissue : int {
  replace = 0,      // a new issue replaces the live code (failed attempts carry over)
  resend_same = 1,  // a new issue re-sends the live code (kept encrypted) until it expires
};

// A GCRA rate limit: `count` events per `period`, at most `burst` at once. count 0: off.
struct RateLimit {
  int count = 0;
  std::chrono::seconds period{0};
  int burst = 1;
  bool enabled() const noexcept { return count > 0; }
};

enum class CapMode : int {
  revoke_oldest = 0,  // a new token or link beyond the cap revokes the first issued live one
  refuse = 1,         // ... or is refused (rate_limited until the first of them expires)
};

// Everything a purpose (login, verify-email, reset-password, ...) decides: one member per line
// of verikit/policy_fields.hpp, which gives each its default, range and meaning.
struct Policy {
#define VERIKIT_POLICY_FIELD(kind, name, type, init, min, max, choices, doc) type name = init;
#include "verikit/policy_fields.hpp"
#undef VERIKIT_POLICY_FIELD
};

// A copy of `p` with every abuse control off (for tests of other rules, and for purposes that
// rely on limits enforced elsewhere).
Policy without_abuse_controls(Policy p);

inline constexpr std::size_t kKeyBytes = 32;

struct Key {
  std::uint8_t id = 0;
  std::array<std::uint8_t, kKeyBytes> bytes{};
};

// One current key (new records) and previous keys that still verify older records, and the
// index key: it names where a (purpose, identifier) lives in the store (key-group tags, client
// tags, purpose tags), so it does not rotate with the others: abuse state, the one live code of
// an identifier and revoke-all are the same whichever key made a record. Without an index key
// the current key is the index key, which is right until the first rotation: a key set with
// previous keys must name its index key (usually the bytes of the first key you used).
struct KeySet {
  Key current;
  std::vector<Key> previous;
  std::optional<std::array<std::uint8_t, kKeyBytes>> index;
};

// How to reach Redis when the store URL is redis://, rediss:// or unix://. Query options in
// the URL override these (see the README).
struct RedisOptions {
  std::chrono::milliseconds connect_timeout{2000};  // TCP + TLS + AUTH/SELECT
  std::chrono::milliseconds command_timeout{2000};  // a request never waits longer for its reply
  int pool_size = 2;                 // connections, pipelined by the client's I/O thread: 1-64
  std::string tls_ca_file;           // PEM; empty: the system's trust store
  std::string tls_cert_file;         // client certificate (PEM), optional
  std::string tls_key_file;          // its private key (PEM)
  std::string tls_server_name;       // SNI and the name checked; empty: the URL's host
  bool tls_verify = true;            // verify the server certificate (keep it on)
  // Start anyway (with a loud warning) on a Redis whose maxmemory-policy may evict keys. Off:
  // such a Redis is refused, since an evicted key loses a credential or an attempt counter.
  bool allow_eviction = false;
  // Durability (off by default): after a verification that consumes a credential or counts a
  // wrong guess, WAIT for this many replicas to acknowledge it, at most wait_timeout. The result
  // says how many did (replicas_confirmed); fewer than asked means a failover now could roll
  // the consumption or the count back. 0: no WAIT.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{100};
};

struct Config {
  std::optional<KeySet> keys;  // none: an ephemeral key (embedded store only)
  Policy default_policy;       // for purposes without a policy of their own
  std::map<std::string, Policy, std::less<>> policies;
  std::string store_url = "memory://";
  RedisOptions redis;
  // Warnings found at start (e.g. a Redis eviction policy that could drop credentials).
  // Empty: written to stderr.
  std::function<void(std::string_view)> on_warning;
  // Lifecycle events (README: "Events"). None: no event is built, queued or counted. Events
  // leave the operation through a bounded queue (event_queue_capacity) read by one engine thread
  // that calls this; a full queue drops the event (counted in metrics()). Queued events are
  // delivered before the engine is destroyed; the handler is never called after that.
  EventHandler on_event;
  // The engine options: one member per line of verikit/config_fields.hpp, which gives each its
  // default, range and meaning (set by name with set_config_option, verikit/schema.hpp).
#define VERIKIT_CONFIG_OPTION(kind, name, type, init, min, max, doc) type name = init;
#include "verikit/config_fields.hpp"
#undef VERIKIT_CONFIG_OPTION

  const Policy& policy_for(std::string_view purpose) const {
    auto it = policies.find(purpose);
    return it == policies.end() ? default_policy : it->second;
  }
};

// A new random key (libsodium).
Key generate_key(std::uint8_t id = 0);

// Checks every field's range; the message names the field.
Status validate(const Policy& policy);
Status validate(const Config& config);

}  // namespace verikit
