// Test helper, run as a separate process: issues an OTP through its own engine on a shared
// Redis and prints the code. Usage: issue_tool <redis-url> <key-hex> <purpose> <identifier>
#include <cstdio>
#include <string>

#include "verikit/verikit.hpp"

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  verikit::Config config;
  config.store_url = argv[1];
  verikit::Key key;
  key.id = 1;
  const std::string hex = argv[2];
  if (hex.size() != 64) return 2;
  for (std::size_t i = 0; i < 32; ++i) key.bytes[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  config.keys = verikit::KeySet{key, {}, std::nullopt};
  auto engine = verikit::Engine::create(config);
  if (!engine) {
    std::fprintf(stderr, "%s\n", engine.error().message.c_str());
    return 1;
  }
  auto code = (*engine)->issue_otp(argv[3], argv[4]);
  if (!code) {
    std::fprintf(stderr, "%s\n", code.error().message.c_str());
    return 1;
  }
  std::printf("%.*s\n", static_cast<int>(code->secret.size()), code->secret.data());
  return 0;
}
