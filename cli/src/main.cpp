// verikit — the command-line program for operators and support staff: keys, Redis checks,
// support actions and a load test, over the C API (see cli.hpp).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

constexpr const char* kUsageText = R"(usage: verikit COMMAND [options]   (verikit COMMAND --help for each)

Commands:
  keygen                         print a new key, in the form VERIKIT_KEY takes
  doctor [URL]                   check that a Redis server is fit for verikit (OK/WARN/FAIL per item)
  inspect PURPOSE IDENTIFIER     what is live for a user: code, attempts left, tokens, lockout, limits
  unlock PURPOSE IDENTIFIER      end a lockout (refill the failure budgets)
  revoke PURPOSE IDENTIFIER      revoke the live one-time code
  revoke-all PURPOSE IDENTIFIER  revoke the code and every token and magic link
  revoke-second-factors PURPOSE IDENTIFIER
                                 remove the authenticator enrollment and the recovery codes
  stats [URL]                    what the store holds: verikit keys under the prefix, memory
  bench URL                      a short load test of issue + verify against the named store
  version                        the program's and the library's version

Common options:
  --store URL      the store (else $VERIKIT_STORE): redis://[user:password@]host:port, rediss://...,
                   unix:///path, redis+cluster://host:port,host:port,... (seeds; rediss+cluster://),
                   redis+sentinel://host:port,host:port/master-name (rediss+sentinel://),
                   file:///path/to/dir (the file store; doctor and stats check Redis only)
  --prefix P       the key prefix your application uses (default vk)
  --key-file PATH  the key (else $VERIKIT_KEY): 64 hex digits, base64, or 32 raw bytes; never --key
  --json           machine-readable output (one JSON object on stdout)

Exit codes:
  0  done (the answer is yes)
  1  done, the answer is no: doctor found a FAIL, a revoke found nothing live, unlock found no
     lockout, bench saw operations fail
  2  usage: bad arguments, a missing key or store, --key given, memory:// for a support command
  3  the store or key failed: unreachable, refused (authentication, a misconfigured server),
     timed out, or the key does not open the records
)";

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsageText, stderr);
    return vkcli::kUsage;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsageText, stdout);
    return vkcli::kOk;
  }
  std::vector<std::string> rest(argv + 2, argv + argc);
  const std::vector<std::string> key_opts = {"--store", "--prefix", "--key-file", "--key-id", "--index-key-file"};
  if (command == "keygen") return vkcli::cmd_keygen(vkcli::Args(rest, {}, {"--hex", "--base64"}));
  if (command == "doctor")
    return vkcli::cmd_doctor(vkcli::Args(rest, {"--store", "--prefix", "--pending"}, {"--json"}));
  if (command == "stats") return vkcli::cmd_stats(vkcli::Args(rest, {"--store", "--prefix"}, {"--json"}));
  if (command == "inspect" || command == "unlock" || command == "revoke" || command == "revoke-all" ||
      command == "revoke-second-factors")
    return vkcli::cmd_support(command, vkcli::Args(rest, key_opts, {"--json", "--no-key-check", "--keep-case",
                                                                    "--keep-spaces"}));
  if (command == "bench")
    return vkcli::cmd_bench(vkcli::Args(rest, {"--prefix", "--concurrency", "--seconds", "--ops"},
                                        {"--json", "--issue-only", "--keep"}));
  if (command == "version" || command == "--version") {
    std::printf("verikit %s (library %s)\n", VERIKIT_VERSION_STRING, verikit_version());
    return vkcli::kOk;
  }
  std::fprintf(stderr, "verikit: unknown command '%s'\n\n%s",
               (vkcli::shown(command.substr(0, 40)) + (command.size() > 40 ? "..." : "")).c_str(), kUsageText);
  return vkcli::kUsage;
}

}  // namespace

// What the command printed reached its destination: a full disk or a closed pipe is a failure
// (exit 3), not a key or an answer reported as printed. The command itself has run.
int flushed(int code) {
  if (std::fflush(stdout) == 0 && std::ferror(stdout) == 0) return code;
  std::fprintf(stderr, "verikit: could not write the output (%s); the command itself ran\n", std::strerror(errno));
  return vkcli::kStore;
}

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // (a closed pipe is then a write error, reported above)
  try {
    return flushed(run(argc, argv));
  } catch (const vkcli::Failure& f) {
    std::fprintf(stderr, "verikit: %s\n", f.message.c_str());
    return f.exit_code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "verikit: internal error: %s\n", e.what());
    return vkcli::kStore;
  }
}
