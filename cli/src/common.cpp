// verikit CLI — arguments, keys, configuration and errors shared by the subcommands.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

#include "cli.hpp"

namespace vkcli {

namespace {
// An unknown option as an error names it: its name only (never a value after '=', which may be a
// secret put in the wrong place), shortened, and escaped.
std::string option_name(std::string_view a) {
  a = a.substr(0, a.find('='));
  constexpr std::size_t kMax = 40;
  return shown(a.substr(0, kMax)) + (a.size() > kMax ? "..." : "");
}
}  // namespace

Args::Args(std::vector<std::string> argv, std::vector<std::string> with_value, std::vector<std::string> flags) {
  auto known = [](const std::vector<std::string>& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--key" || a.starts_with("--key="))
      throw Failure{kUsage, "--key is refused: a key in the command line shows in `ps` and in shell history. Put it in "
                            "the environment variable VERIKIT_KEY or in a file named by --key-file PATH (mode 0600)"};
    if (a == "--") {
      positionals_.insert(positionals_.end(), argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
      break;
    }
    if (!a.starts_with("--") || a == "-") {
      if (a == "-key" || a.starts_with("-key="))
        throw Failure{kUsage, "-key is refused (and so is --key): a key in the command line shows in `ps` and in "
                              "shell history. Put it in the environment variable VERIKIT_KEY or in a file named by "
                              "--key-file PATH (mode 0600)"};
      if (a.size() > 1 && a[0] == '-' && a != "-h")
        throw Failure{kUsage, "unknown option '" + option_name(a) + "': see --help"};
      if (a == "-h") flags_.push_back("--help");
      else positionals_.push_back(a);
      continue;
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (known(flags, name) || name == "--help") {
      if (eq != std::string::npos) throw Failure{kUsage, name + " takes no value"};
      flags_.push_back(name);
    } else if (known(with_value, name)) {
      if (eq != std::string::npos) values_[name] = a.substr(eq + 1);
      else if (i + 1 < argv.size()) values_[name] = argv[++i];
      else throw Failure{kUsage, name + " needs a value: see --help"};
    } else {
      throw Failure{kUsage, "unknown option '" + option_name(name) + "': see --help"};
    }
  }
  // (help with arguments would answer 0, "done", for a command that did nothing: an identifier
  // "-h" from a script would be told it was unlocked)
  if (flag("--help") && !positionals_.empty())
    throw Failure{kUsage, "--help (or -h) goes alone after the command; an identifier that starts with '-' goes "
                          "after -- (verikit unlock login -- -h)"};
}

bool Args::flag(std::string_view name) const { return std::find(flags_.begin(), flags_.end(), name) != flags_.end(); }

std::optional<std::string> Args::value(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t Args::number(std::string_view name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) const {
  auto v = value(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0 || (*v)[0] == '-' || n < min || n > max) {
    // (the value is repeated only when it is a short number: a key pasted into --key-id is not)
    const bool digits = !v->empty() && v->size() <= 20 &&
                        std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; });
    throw Failure{kUsage, std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                              std::to_string(max) + (digits ? ", not " + *v : " (the value given is not one; not shown)")};
  }
  return n;
}

std::string store_url(const Args& args) {
  if (auto v = args.value("--store")) return *v;
  if (const char* env = std::getenv("VERIKIT_STORE"); env != nullptr && *env != '\0') return env;
  throw Failure{kUsage, "no store: give --store URL or set VERIKIT_STORE (e.g. redis://host:6379; prefer the "
                        "environment variable when the URL holds a password)"};
}

void refuse_embedded(const std::string& url, std::string_view command) {
  if (url.starts_with("file://")) {  // a mistyped path would be a new, empty store, made by this command
    const std::string rest = url.substr(7);
    const std::string dir = rest.substr(0, rest.find('?'));
    struct stat st {};
    if (!dir.empty() && ::stat((dir + "/data.mdb").c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
      throw Failure{kUsage, std::string(command) + ": no file store at " + dir +
                                " (no data.mdb there): check the path your application uses; a support command does "
                                "not make a new, empty store"};
  }
  if (url.empty() || url.starts_with("memory:"))
    throw Failure{kUsage, std::string(command) +
                              " needs the store your application uses (Redis, or a file:// store on this machine): "
                              "memory:// in a command-line process is a new, empty store that lives only as long as "
                              "this command, so it would show nothing of any application's state. Give --store "
                              "redis://... or file:///path (or set VERIKIT_STORE)"};
}

namespace {

// A key file: a regular file, or a pipe (`--key-file <(vault read ...)`), of at most 4 KiB (a
// directory or a device is refused, never read without end). Checked on the opened file.
std::string read_file(const std::string& path, std::string_view what) {
  // (a key given where its file's path goes is not repeated in the errors)
  bool is_key = false;
  try {
    is_key = path.size() >= 40 && !decode_key(path, "").empty();
  } catch (const Failure&) {
  }
  const std::string name = "the " + std::string(what) + " file " +
                           (is_key ? "(its path, not shown, reads as a key: " + std::string(what) + " takes the path of a file that holds the key)"
                                   : "'" + shown(path) + "'");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw Failure{kUsage, "cannot read " + name + ": check the path and its permissions"};
  struct stat st {};
  std::string text(4097, '\0');
  std::size_t n = 0;
  const bool kind = ::fstat(::fileno(f), &st) == 0 && (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode));
  if (kind) n = std::fread(text.data(), 1, text.size(), f);
  std::fclose(f);
  if (!kind || n > 4096)
    throw Failure{kUsage, name + " is not a key file (a regular file or a pipe of at most 4096 bytes: 64 hex digits, "
                          "base64, or 32 raw bytes)"};
  text.resize(n);
  // As ssh does for private keys, but a warning: the command goes on (the key is already out).
  if (S_ISREG(st.st_mode) && (st.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    std::fprintf(stderr, "verikit: warning: %s can be read by other users (mode %s): chmod 600 it\n", name.c_str(),
                 mode);
  }
  return text;
}

// A key from --<file_option> PATH or $<env>; nullopt when neither is given.
std::optional<std::vector<std::uint8_t>> key_from(const Args& args, const char* file_option, const char* env) {
  if (auto path = args.value(file_option)) return decode_key(read_file(*path, file_option), "the file '" + shown(*path) + "'");
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return decode_key(v, std::string("$") + env);
  return std::nullopt;
}

}  // namespace

void set_prefix(verikit_config* config, const std::string& prefix) {
  // Through the schema, which checks it as an engine would (doctor and stats make no engine).
  if (verikit_config_set_option(config, "key_prefix", prefix.c_str()) != VERIKIT_OK)
    throw Failure{kUsage, std::string("--prefix: ") + verikit_error_message()};
}

void make_config(ConfigHolder& out, const Args& args, const std::string& url, bool need_key) {
  check(verikit_config_new(&out.config), "creating a configuration");
  check(verikit_config_set_store(out.config, url.c_str()), "setting the store URL");
  set_prefix(out.config, args.value("--prefix").value_or("vk"));
  if (!need_key) return;
  auto key = key_from(args, "--key-file", "VERIKIT_KEY");
  if (!key)
    throw Failure{kUsage, "no key: set VERIKIT_KEY to your application's key (64 hex digits or base64) or give "
                          "--key-file PATH; the key names where records live, so it must be the one your "
                          "application runs with (`verikit keygen` makes a new one)"};
  const auto id = args.number("--key-id", VERIKIT_DEFAULT_KEY_ID, 0, 255);
  check(verikit_config_set_key(out.config, static_cast<std::uint8_t>(id), key->data(), key->size()), "setting the key");
  if (auto index = key_from(args, "--index-key-file", "VERIKIT_INDEX_KEY"))
    check(verikit_config_set_index_key(out.config, index->data(), index->size()), "setting the index key");
  // The store's key-check record must be there and match: a wrong key, a rotation without the
  // index key, a mistyped prefix or store URL are refused instead of answering "nothing live".
  check(verikit_config_set_option(out.config, "key_check", args.flag("--no-key-check") ? "off" : "require"),
        "setting the key check");
}

void open_engine(EngineHolder& out, const verikit_config* config) {
  check(verikit_engine_new(&out.engine, config), "connecting to the store");
}

void fail_call(int code, std::string_view what) {
  std::string hint;
  switch (code) {
    case VERIKIT_E_STORE_UNAVAILABLE: hint = " Check that the server runs, the URL's host and port, and the network."; break;
    case VERIKIT_E_TIMEOUT: hint = " The request may have taken effect; check the server's load and try again."; break;
    case VERIKIT_E_CRYPTO: hint = " The key does not open the stored records: use your application's key (VERIKIT_KEY)."; break;
    default: break;
  }
  throw Failure{code == VERIKIT_E_INVALID_ARGUMENT ? kUsage : kStore,
                std::string(what) + " failed (" + verikit_error_name(code) + "): " + verikit_error_message() + hint};
}

std::vector<std::uint8_t> decode_key(std::string_view text, std::string_view source) {
  const std::size_t n = VERIKIT_KEY_BYTES;
  if (text.size() == n) return {text.begin(), text.end()};  // raw bytes (a key file)
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (text.starts_with("VERIKIT_KEY=")) text.remove_prefix(12);  // a line of `verikit keygen`'s output
  std::vector<std::uint8_t> out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() == 2 * n && std::all_of(text.begin(), text.end(), [&](char c) { return hex(c) >= 0; })) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(hex(text[2 * i]) * 16 + hex(text[2 * i + 1])));
    return out;
  }
  auto b64 = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string_view body = text;
  while (body.ends_with('=')) body.remove_suffix(1);
  std::uint32_t acc = 0;
  int bits = 0;
  bool ok = body.size() == 43;
  for (char c : body) {
    const int v = b64(c);
    if (v < 0) ok = false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v < 0 ? 0 : v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
    }
  }
  if (ok && out.size() == n) return out;
  throw Failure{kUsage, std::string(source) + " is not a verikit key: expected 32 bytes as 64 hex digits or as "
                                              "base64 (44 characters); `verikit keygen` prints one"};
}

std::string to_hex(const std::uint8_t* data, std::size_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < len; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string to_base64(const std::uint8_t* data, std::size_t len) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < len; i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    if (i + 1 < len) v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
    if (i + 2 < len) v |= data[i + 2];
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += i + 1 < len ? chars[(v >> 6) & 63] : '=';
    out += i + 2 < len ? chars[v & 63] : '=';
  }
  return out;
}

namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong form,
// no surrogate, nothing past U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  else return 0;
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (b(i) < 0x80 || b(i) > 0xbf) return 0;
  return n;
}

}  // namespace

std::string shown(std::string_view s) {
  std::string out;
  auto escape = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    out += buf;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s.substr(i));
      // (U+0080..U+009F, the C1 controls: CSI among them, is C2 9B; U+202A..U+202E and
      // U+2066..U+2069, the bidirectional overrides and isolates, which reorder what follows)
      const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
      const bool c1 = n == 2 && c == 0xc2 && at(1) < 0xa0;
      const bool bidi = n == 3 && c == 0xe2 && ((at(1) == 0x80 && at(2) >= 0xaa && at(2) <= 0xae) ||
                                                (at(1) == 0x81 && at(2) >= 0xa6 && at(2) <= 0xa9));
      if (n == 0 || c1 || bidi) {
        for (std::size_t k = 0; k < (n == 0 ? 1 : n); ++k) escape(static_cast<unsigned char>(s[i + k]));
        i += (n == 0 ? 1 : n) - 1;
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
    } else if (c < 0x20 || c == 0x7f || c == '\\') {
      escape(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {  // copied when well-formed UTF-8; else U+FFFD, so the output stays JSON
      const std::size_t n = utf8_sequence(s.substr(i));
      if (n == 0) {
        out += "\\ufffd";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace vkcli
