// verikit CLI — keygen: a new key in the form VERIKIT_KEY (and the bindings) take.
#include <unistd.h>

#include <cstdio>

#include "cli.hpp"

namespace vkcli {

namespace {
constexpr const char* kHelp = R"(usage: verikit keygen [--hex | --base64]

Prints a new random 32-byte key (verikit_key_generate) on stdout as one line
  VERIKIT_KEY=<64 hex digits>
which is what this program reads from the environment (or from --key-file PATH). Every process
that shares a store needs the same key: keep it in your secret manager and give it to your
application as the bytes of the hex text:
  C       verikit_config_set_key(config, 1, key, 32)  (decode the 64 hex digits)
  Python  verikit.Engine(store=..., key=bytes.fromhex(os.environ["VERIKIT_KEY"]))
  Node    new Manager({ url: ..., key: Buffer.from(process.env.VERIKIT_KEY, "hex") })
After a rotation the first key you ran with stays the index key (README: "Rotating keys"): give
it to this program as VERIKIT_INDEX_KEY.

  --hex     print only the 64 hex digits
  --base64  print only the key in base64 (44 characters; also accepted in VERIKIT_KEY)

Exit codes: 0 printed; 2 usage.
)";
}  // namespace

int cmd_keygen(const Args& args) {
  if (args.flag("--help")) return std::fputs(kHelp, stdout), kOk;
  if (!args.positionals().empty()) throw Failure{kUsage, "keygen takes no arguments: see verikit keygen --help"};
  if (args.flag("--hex") && args.flag("--base64")) throw Failure{kUsage, "give --hex or --base64, not both"};
  std::uint8_t key[VERIKIT_KEY_BYTES];
  check(verikit_key_generate(key, sizeof key), "generating a key");
  if (args.flag("--base64")) std::printf("%s\n", to_base64(key, sizeof key).c_str());
  else if (args.flag("--hex")) std::printf("%s\n", to_hex(key, sizeof key).c_str());
  else std::printf("VERIKIT_KEY=%s\n", to_hex(key, sizeof key).c_str());
  if (isatty(STDERR_FILENO))
    std::fputs("verikit: a new key: put it in your secret store and in VERIKIT_KEY of every process sharing the "
               "store (see verikit keygen --help).\n", stderr);
  return kOk;
}

}  // namespace vkcli
