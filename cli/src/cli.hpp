// verikit command-line program — what every subcommand shares: exit codes, arguments, output,
// keys and opening an engine. Written over the C API (verikit.h) only, like any other user of
// libverikit: no logic of verikit's own lives in the CLI.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verikit.h"

namespace vkcli {

// Exit codes (documented in `verikit --help` and the README's "Operations" section).
enum Exit : int {
  kOk = 0,           // done; the answer is yes
  kNegative = 1,     // done; the answer is no: doctor found the store unfit (a FAIL), revoke or
                     // revoke-all found nothing live, unlock found no lockout, bench saw errors
  kUsage = 2,        // bad arguments or environment (nothing was done): see the command's --help
  kStore = 3,        // the store or the key failed (unreachable, refused, timed out, wrong key)
};

// A usage error (exit 2) or a store/library error (exit 3) carried up to main, which prints it.
struct Failure {
  int exit_code;
  std::string message;
};

// Arguments after the subcommand: --name value, --name=value, flags, and positionals.
class Args {
 public:
  // `with_value`: the options that take a value; `flags`: those that do not.
  Args(std::vector<std::string> argv, std::vector<std::string> with_value, std::vector<std::string> flags);
  bool flag(std::string_view name) const;
  std::optional<std::string> value(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  // A whole number option in [min, max], or `fallback` when absent.
  std::uint64_t number(std::string_view name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> flags_;
  std::vector<std::string> positionals_;
};

// The store URL: --store URL, else $VERIKIT_STORE; a usage error names both when neither is set.
std::string store_url(const Args& args);
// Refuses memory:// for commands that act on existing state: a CLI process's embedded store is a
// new, empty one, so an answer from it would say nothing about any application's state.
void refuse_embedded(const std::string& url, std::string_view command);

// A configuration with the store and key prefix of `args` (--prefix, default "vk") and, when
// `need_key`, the key from $VERIKIT_KEY or --key-file (plus $VERIKIT_INDEX_KEY or
// --index-key-file). Refuses a --key argument (it would show in `ps`).
struct ConfigHolder {
  verikit_config* config = nullptr;
  ~ConfigHolder() { verikit_config_free(config); }
};
void make_config(ConfigHolder& out, const Args& args, const std::string& url, bool need_key);
// Sets the key prefix as the engine checks it (a bad one is a usage error, exit 2).
void set_prefix(verikit_config* config, const std::string& prefix);

// An engine started from `config`; a store error (exit 3) carries verikit's message.
struct EngineHolder {
  verikit_engine* engine = nullptr;
  ~EngineHolder() { verikit_engine_free(engine); }
};
void open_engine(EngineHolder& out, const verikit_config* config);

// Turns a failed verikit call into a Failure (exit 3, or 2 for an invalid argument) with its
// message and `what` was being done.
[[noreturn]] void fail_call(int code, std::string_view what);
inline void check(int code, std::string_view what) {
  if (code != VERIKIT_OK) fail_call(code, what);
}

// Keys: 32 bytes from 64 hex digits, or base64 (standard or URL-safe, padding optional), or (in a
// file) the 32 raw bytes. A usage error names `source` (never the key).
std::vector<std::uint8_t> decode_key(std::string_view text, std::string_view source);
std::string to_hex(const std::uint8_t* data, std::size_t len);
std::string to_base64(const std::uint8_t* data, std::size_t len);

// JSON string literal of `s` (escaped).
std::string json_string(std::string_view s);
// `s` for text output (an identifier, a purpose): control characters (C0, DEL, C1), backslashes
// and bytes that are not UTF-8 as \xNN, so that no value can print a line or a terminal sequence
// of its own ("bob\nlogin bob: unlocked" in a ticket must not read as an answer).
std::string shown(std::string_view s);

// The subcommands: each returns an exit code or throws Failure.
int cmd_keygen(const Args& args);
int cmd_doctor(const Args& args);
int cmd_stats(const Args& args);
int cmd_support(std::string_view command, const Args& args);  // inspect, unlock, revoke, revoke-all, revoke-second-factors
int cmd_bench(const Args& args);

}  // namespace vkcli
