// verikit CLI — what support staff need: inspect, unlock, revoke, revoke-all,
// revoke-second-factors (one verikit call each, on the application's store with its key).
#include <cstdio>
#include <ctime>
#include <string>

#include "cli.hpp"

namespace vkcli {

namespace {

constexpr const char* kHelp = R"(usage: verikit inspect|unlock|revoke|revoke-all|revoke-second-factors PURPOSE IDENTIFIER [options]

  inspect     what is live for (PURPOSE, IDENTIFIER): the one-time code's attempts left and
              expiry, live tokens and magic links, recovery codes left, the lockout and the rate
              limits. Changes nothing.
  unlock      ends a lockout: refills the failure budgets, the identifier's and its client
              keys' (the code, if any, stays live); says whether the identifier was locked
  revoke      revokes the live one-time code
  revoke-all  revokes the code and every token and magic link of (PURPOSE, IDENTIFIER); not an
              authenticator enrollment or recovery codes
  revoke-second-factors
              removes the authenticator enrollment and the recovery codes of (PURPOSE,
              IDENTIFIER), and nothing else (for a user who lost the device and the codes, once
              you know who asks: whoever can run this can turn a user's second factor off)

The identifier is normalised as your application's policy does by default (white space around
it stripped, ASCII lower-cased): give --keep-case / --keep-spaces when your application turns
lowercase_identifier / trim_identifier off (else "Alice" acts on "alice", another account). The
output names the identifier acted on. The store must be the one your application uses, with its key
prefix and its key, because the key names where records live: a wrong key finds nothing. So the
store's key-check record (made by an application on verikit 0.4 or later when it starts) must be
there and match the key: a wrong key, a key rotation without --index-key-file, a mistyped
--prefix or store URL are refused (exit 3) instead of answering "nothing live".

  --store URL            the store (else $VERIKIT_STORE). memory:// is refused: in a command-line
                         process it is a new, empty store that lives for this one command
  --prefix P             your application's key prefix (default vk)
  --key-file PATH        the key (else $VERIKIT_KEY): 64 hex digits, base64 or 32 raw bytes.
                         --key is refused: arguments show in `ps` and shell history
  --key-id N             its id (default 1)
  --index-key-file PATH  the index key after a key rotation (else $VERIKIT_INDEX_KEY): the first
                         key you ran with (README: "Rotating keys")
  --keep-case            identifiers are not lower-cased (lowercase_identifier=false in your policy)
  --keep-spaces          white space around identifiers is kept (trim_identifier=false)
  --json                 one JSON object on stdout
  --no-key-check         skip the key check (an application that runs with key_check=off; a wrong
                         key or prefix then answers "nothing live")

Exit codes: 0 done (inspect: always, whatever it found); 1 nothing to do (a revoke: nothing was
live; unlock: the identifier was not locked); 2 usage (missing key or store, --key,
memory://, a file:// directory that holds no store); 3 store error (unreachable, refused, timed
out: a revoke that timed out may have happened), or the output could not be written.
)";

std::string when(std::int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

struct ResultHolder {
  verikit_result* result = nullptr;
  ~ResultHolder() { verikit_result_free(result); }
};

struct Counter {
  const char* name;
  int id;
  bool time;
};
constexpr Counter kCounters[] = {
    {"failures", VERIKIT_COUNTER_FAILURES, false},
    {"failures_reset_at", VERIKIT_COUNTER_FAILURES_RESET_AT_MS, true},
    {"guesses_available", VERIKIT_COUNTER_GUESSES_AVAILABLE, false},
    {"locked_until", VERIKIT_COUNTER_LOCKED_UNTIL_MS, true},
    {"cooldown_until", VERIKIT_COUNTER_COOLDOWN_UNTIL_MS, true},
    {"sends_available", VERIKIT_COUNTER_SENDS_AVAILABLE, false},
    {"send_limit_reset_at", VERIKIT_COUNTER_SEND_LIMIT_RESET_AT_MS, true},
};

int inspect(verikit_engine* e, const std::string& purpose, const std::string& id, bool json) {
  ResultHolder r;
  check(verikit_inspect(&r.result, e, purpose.c_str(), id.data(), id.size()), "inspect");
  int status = 0;
  std::int32_t attempts = -1, tokens = -1;
  std::int64_t expires = 0;
  const char* ident = "";
  std::size_t ident_len = 0;
  check(verikit_result_status(r.result, &status), "reading the status");
  check(verikit_result_attempts_remaining(r.result, &attempts), "reading the attempts");
  check(verikit_result_active_tokens(r.result, &tokens), "reading the live tokens");
  check(verikit_result_expires_at_ms(r.result, &expires), "reading the expiry");
  check(verikit_result_identifier(r.result, &ident, &ident_len), "reading the identifier");
  const std::string identifier(ident, ident_len);
  int recovery = 0;  // (an authenticator enrollment cannot be seen from here)
  check(verikit_recovery_remaining(&recovery, e, purpose.c_str(), id.data(), id.size()), "counting the recovery codes");
  if (json) {
    std::printf("{\"purpose\": %s, \"identifier\": %s, \"status\": \"%s\", \"code_attempts_remaining\": %d, "
                "\"code_expires_at_ms\": %lld, \"live_tokens_and_links\": %d, \"recovery_codes\": %d",
                json_string(purpose).c_str(), json_string(identifier).c_str(), verikit_status_name(status), attempts,
                static_cast<long long>(expires), tokens, recovery);
  } else {
    std::printf("purpose     %s\nidentifier  %s\nstatus      %s%s\n", shown(purpose).c_str(), shown(identifier).c_str(),
                verikit_status_name(status),
                status == VERIKIT_STATUS_LOCKED ? " (the failure budget is spent: `verikit unlock` ends it)" : "");
    if (attempts >= 0) std::printf("code        live: %d wrong guess(es) left, expires %s\n", attempts, when(expires).c_str());
    else std::printf("code        none live\n");
    std::printf("tokens      %d live token(s) and magic link(s)\n", tokens < 0 ? 0 : tokens);
    std::printf("recovery    %d recovery code(s) left\n", recovery);
  }
  for (const auto& c : kCounters) {
    std::int64_t v = 0;
    check(verikit_result_counter(r.result, c.id, &v), "reading a counter");
    if (json) std::printf(", \"%s%s\": %lld", c.name, c.time ? "_ms" : "", static_cast<long long>(v));
    else std::printf("%-20s%s\n", c.name, c.time ? when(v).c_str() : v < 0 ? "no limit" : std::to_string(v).c_str());
  }
  if (json) std::printf("}\n");
  return kOk;
}

}  // namespace

int cmd_support(std::string_view command, const Args& args) {
  if (args.flag("--help")) return std::fputs(kHelp, stdout), kOk;
  const auto& pos = args.positionals();
  if (pos.size() != 2)
    throw Failure{kUsage, std::string(command) + " takes PURPOSE IDENTIFIER (e.g. verikit " + std::string(command) +
                              " login alice@example.com): see --help"};
  const std::string url = store_url(args);
  refuse_embedded(url, command);
  ConfigHolder config;
  make_config(config, args, url, true);
  if (args.flag("--keep-case"))
    check(verikit_config_set_policy_field(config.config, nullptr, "lowercase_identifier", "false"), "--keep-case");
  if (args.flag("--keep-spaces"))
    check(verikit_config_set_policy_field(config.config, nullptr, "trim_identifier", "false"), "--keep-spaces");
  EngineHolder engine;
  open_engine(engine, config.config);
  const std::string& purpose = pos[0];
  const std::string& id = pos[1];
  const bool json = args.flag("--json");
  if (command == "inspect") return inspect(engine.engine, purpose, id, json);
  // The identifier the command acts on, as the engine normalises it (read-only), to name it.
  std::string acted_on;
  {
    ResultHolder seen;
    check(verikit_inspect(&seen.result, engine.engine, purpose.c_str(), id.data(), id.size()), "normalising the identifier");
    const char* ident = "";
    std::size_t len = 0;
    check(verikit_result_identifier(seen.result, &ident, &len), "reading the identifier");
    acted_on.assign(ident, len);
  }
  int n = 0;
  std::string said;
  if (command == "unlock") {
    check(verikit_unlock(&n, engine.engine, purpose.c_str(), id.data(), id.size()), "unlock");
    said = n ? "unlocked: the failure budgets are full again"
             : "was not locked (its failure budgets, and its client keys', are full again)";
  } else if (command == "revoke") {
    check(verikit_otp_revoke(&n, engine.engine, purpose.c_str(), id.data(), id.size()), "revoke");
    said = n ? "revoked the live code" : "no live code: nothing revoked";
  } else if (command == "revoke-all") {
    check(verikit_revoke_all(&n, engine.engine, purpose.c_str(), id.data(), id.size()), "revoke-all");
    said = "revoked " + std::to_string(n) + " live code(s), token(s) and magic link(s); an authenticator enrollment "
           "and recovery codes are not revoked by revoke-all (inspect shows the recovery codes left; "
           "revoke-second-factors removes them)";
  } else {
    check(verikit_revoke_second_factors(&n, engine.engine, purpose.c_str(), id.data(), id.size()),
          "revoke-second-factors");
    said = n ? "removed " + std::to_string(n) + " second factor(s): the authenticator enrollment counts one, each "
               "recovery code left one"
             : "no authenticator enrollment or recovery codes: nothing removed";
  }
  if (json) {
    std::printf("{\"command\": \"%s\", \"purpose\": %s, \"identifier\": %s, \"count\": %d}\n",
                std::string(command).c_str(), json_string(purpose).c_str(), json_string(acted_on).c_str(), n);
  } else {
    std::printf("%s %s: %s\n", shown(purpose).c_str(), shown(acted_on).c_str(), said.c_str());
    if (acted_on != id)
      std::printf("(acted on '%s', as the default policy normalises '%s'; --keep-case / --keep-spaces if your "
                  "application keeps case or spaces)\n", shown(acted_on).c_str(), shown(id).c_str());
  }
  return n ? kOk : kNegative;
}

}  // namespace vkcli
