// verikit — the Redis store's start-up checks (see redis_preflight.hpp).
#include "store/redis_preflight.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>

namespace verikit::detail {
namespace {

using redis::Reply;
using Info = std::map<std::string, std::string, std::less<>>;

using Verdict = StoreCheck::Verdict;

std::string at(const redis::Client& c) { return "Redis at " + c.endpoint().describe(); }

// The report being built, and whether a FAIL ends it early (start-up) or not (doctor).
struct Report {
  std::vector<StoreCheck> items;
  bool stop_at_fail = false;
  void add(std::string item, Verdict v, std::string detail) { items.push_back({std::move(item), v, std::move(detail)}); }
  bool done() const { return stop_at_fail && !items.empty() && items.back().verdict == Verdict::fail; }
};

std::string user_of(const redis::Client& c) {
  return c.endpoint().username.empty() ? std::string("default") : c.endpoint().username;
}

// Error replies a healthy server gives for a while (loading its data, running a long script):
// worth retrying later, not a configuration to fix.
// (CLUSTERDOWN: a Cluster node while the cluster is down, as a newly promoted primary can be; it
// was read as a refusal, and the warning advised granting ACL permissions: found by a review.)
bool transient(std::string_view error) {
  return error.starts_with("LOADING") || error.starts_with("BUSY") || error.starts_with("MASTERDOWN") ||
         error.starts_with("TRYAGAIN") || error.starts_with("CLUSTERDOWN");
}

Error not_ready(const redis::Client& c, const std::string& reply) {
  return make_error(Errc::store_unavailable, at(c) + " is not ready: " + reply);
}

// INFO's "key:value" lines.
Info parse_info(std::string_view text) {
  Info out;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

// HELLO's reply (RESP2: name, value, ...) under INFO's names: version -> redis_version, mode
// cluster -> cluster_enabled:1, role. Empty if HELLO was refused.
Info from_hello(const Reply& hello) {
  Info out;
  if (hello.type != Reply::Type::array) return out;
  for (std::size_t i = 0; i + 1 < hello.elements.size(); i += 2) {
    const Reply& name = hello.elements[i];
    const Reply& value = hello.elements[i + 1];
    if (value.type != Reply::Type::string && value.type != Reply::Type::status) continue;
    if (name.str == "version") out["redis_version"] = value.str;
    else if (name.str == "mode") out["cluster_enabled"] = value.str == "cluster" ? "1" : "0";
    else if (name.str == "role") out["role"] = value.str;
  }
  return out;
}

std::string_view field(const Info& info, std::string_view name) {
  auto it = info.find(name);
  return it == info.end() ? std::string_view{} : std::string_view(it->second);
}

std::uint64_t number(const Info& info, std::string_view name) {
  const auto v = field(info, name);
  std::uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

std::string mib(std::uint64_t bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return out;
}

// "7.0.15" -> {7, 0}; false if it does not start with two numbers.
bool parse_version(std::string_view v, int& major, int& minor) {
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, major);
  if (ec != std::errc() || p == end || *p != '.') return false;
  auto [q, ec2] = std::from_chars(p + 1, end, minor);
  return ec2 == std::errc();
}

void check_version(Report& r, const redis::Client& c, std::string_view version) {
  int major = 0, minor = 0;
  if (!parse_version(version, major, minor))
    return r.add("version", Verdict::fail, at(c) + " reports a version verikit cannot read: '" + std::string(version) + "'");
  const std::string need = std::to_string(kMinRedisMajor) + "." + std::to_string(kMinRedisMinor);
  if (major > kMinRedisMajor || (major == kMinRedisMajor && minor >= kMinRedisMinor))
    return r.add("version", Verdict::ok, at(c) + " is Redis " + std::string(version) + " (" + need + " or later needed)");
  r.add("version", Verdict::fail, at(c) + " is Redis " + std::string(version) + "; verikit needs Redis " + need +
                                      " or later (script flags, redis.acl_check_cmd): upgrade the server");
}

void check_topology(Report& r, const redis::Client& c, const Info& info, bool cluster) {
  const auto mode = field(info, "cluster_enabled");
  if (mode == "1" && !cluster)
    return r.add("role", Verdict::fail,
                 at(c) + " runs in Cluster mode (cluster_enabled:1): name the cluster with a redis+cluster:// URL "
                         "(redis+cluster://host:port,host:port,...) so that verikit routes each key to its node");
  if (mode == "0" && cluster)
    return r.add("role", Verdict::fail,
                 at(c) + " is not in Cluster mode (cluster_enabled:0) but the URL is redis+cluster://: use redis:// for "
                         "a single server");
  const auto role = field(info, "role");
  if (role == "slave" || role == "replica") {
    std::string master(field(info, "master_host"));
    if (!master.empty()) master = " of " + master + ":" + std::string(field(info, "master_port"));
    return r.add("role", Verdict::fail,
                 at(c) + " is a replica" + master + ": writes would fail (READONLY) or be lost; point verikit at the master");
  }
  r.add("role", Verdict::ok, at(c) + (cluster ? " is a Cluster primary" : " is a standalone master"));
}

void check_eviction(Report& r, const redis::Client& c, std::string_view policy, bool allow) {
  if (policy == "noeviction") return r.add("eviction", Verdict::ok, at(c) + " has maxmemory-policy noeviction");
  const std::string why = at(c) + " has maxmemory-policy '" + std::string(policy) +
                          "': under memory pressure Redis would evict verikit's keys, losing credentials and attempt "
                          "counters (an evicted counter hands an attacker fresh guesses); every verikit key has a TTL, "
                          "so volatile-* policies evict exactly them";
  if (!allow)
    return r.add("eviction", Verdict::fail,
                 why + ". Set maxmemory-policy to noeviction (CONFIG SET maxmemory-policy noeviction, and in "
                       "redis.conf), or accept the risk with allow_eviction=1 in the store URL "
                       "(RedisOptions::allow_eviction)");
  r.add("eviction", Verdict::warn, why + ". Accepted because allow_eviction is set; set maxmemory-policy noeviction to be safe.");
}

// ---- the operator's items (doctor only)

void check_memory(Report& r, const redis::Client& c, const Info& info, std::uint64_t pending) {
  const std::uint64_t used = number(info, "used_memory"), max = number(info, "maxmemory");
  const std::uint64_t need = pending * kBytesPerPendingCode;
  const std::string per = " (about " + std::to_string(kBytesPerPendingCode) + " bytes per pending code)";
  if (field(info, "used_memory").empty())
    return r.add("memory", Verdict::warn, at(c) + " did not report used_memory (INFO refused): memory headroom unchecked");
  if (const std::uint64_t ram = number(info, "total_system_memory"); max == 0 && ram != 0 && used + need > ram)
    return r.add("memory", Verdict::fail,
                 at(c) + " has no maxmemory limit, uses " + mib(used) + ", and " + std::to_string(pending) +
                     " pending codes need " + mib(need) + per + ": more than the machine's " + mib(ram) +
                     " of memory");
  if (max == 0)
    return r.add("memory", Verdict::warn,
                 at(c) + " has no maxmemory limit (uses " + mib(used) + "): it grows until the operating system kills "
                         "it, losing every credential; set maxmemory (with noeviction a full Redis refuses writes, "
                         "which verikit reports as store errors)" +
                         (pending ? "; " + std::to_string(pending) + " pending codes need about " + mib(need) + per : ""));
  const std::uint64_t free = max > used ? max - used : 0;
  const std::string figures = " uses " + mib(used) + " of maxmemory " + mib(max) + ", " + mib(free) + " free: room for about " +
                              std::to_string(free / kBytesPerPendingCode) + " pending codes" + per;
  if (used >= max)
    return r.add("memory", Verdict::fail,
                 at(c) + figures + ": it is full, and with noeviction it refuses every write (every issue and "
                                   "verification fails): raise maxmemory (CONFIG SET maxmemory ..., and in redis.conf)");
  if (need > free)
    return r.add("memory", Verdict::fail,
                 at(c) + figures + "; " + std::to_string(pending) + " pending codes need " + mib(need) +
                     ": raise maxmemory (CONFIG SET maxmemory ..., and in redis.conf) or expect issues to fail with "
                     "OOM errors");
  if (used + need > max / 10 * 9)
    return r.add("memory", Verdict::warn,
                 at(c) + figures + "; with " + std::to_string(pending) + " pending codes it would be over 90% full: "
                                                                           "raise maxmemory");
  r.add("memory", Verdict::ok, at(c) + figures + (pending ? "; " + std::to_string(pending) + " pending codes fit" : ""));
}

// A CONFIG GET value; nullopt when the server refuses to say.
std::optional<std::string> config_value(redis::Client& c, std::string_view name) {
  auto r = c.command_sync({"CONFIG", "GET", name});
  if (!r || r->is_error() || r->elements.size() != 2) return std::nullopt;
  return r->elements[1].str;
}

void check_persistence(Report& r, redis::Client& c, const Info& info) {
  const bool aof = field(info, "aof_enabled") == "1";
  const auto fsync = aof ? config_value(c, "appendfsync") : std::nullopt;
  const auto save = config_value(c, "save");
  const std::string loses = " (a code issued, consumed or guessed in that time is as if it never happened: a used code "
                            "can be valid again, counted wrong guesses are forgotten)";
  if (aof && fsync == "always")
    return r.add("persistence", Verdict::ok, at(c) + " writes an append-only file with appendfsync always: a crash loses "
                                                     "no acknowledged write");
  if (aof && (!fsync || fsync == "everysec"))
    return r.add("persistence", Verdict::ok,
                 at(c) + " writes an append-only file (appendfsync " + fsync.value_or("unknown: CONFIG GET refused") +
                     "): a crash can lose about the last second of writes" + loses);
  if (aof)
    return r.add("persistence", Verdict::warn,
                 at(c) + " writes an append-only file with appendfsync " + *fsync +
                     ": the OS decides when it reaches disk, a crash can lose some 30 seconds of writes" + loses +
                     "; use appendfsync everysec or always");
  if (field(info, "aof_enabled").empty() || !save)
    return r.add("persistence", Verdict::warn, at(c) + " did not say how it persists (INFO or CONFIG GET refused): check "
                                                       "appendonly and save in its configuration");
  if (!save->empty())
    return r.add("persistence", Verdict::warn,
                 at(c) + " keeps only RDB snapshots (save '" + *save + "'): a crash loses every write since the last "
                         "snapshot" + loses + "; turn on appendonly yes with appendfsync everysec");
  r.add("persistence", Verdict::warn,
        at(c) + " persists nothing (appendonly no, save ''): a restart loses every credential and every abuse counter "
                "(users ask for new codes; lockouts and rate limits start over); turn on appendonly yes if that matters");
}

void check_replicas(Report& r, const redis::Client& c, const Info& info, int wait_replicas) {
  const auto connected = number(info, "connected_slaves");
  if (field(info, "connected_slaves").empty())
    return r.add("replicas", Verdict::warn, at(c) + " did not report its replicas (INFO refused)");
  if (connected == 0)
    return r.add("replicas", Verdict::ok,
                 at(c) + " has no replicas: its own persistence is what survives a crash" +
                     (wait_replicas ? "; but the URL asks wait_replicas=" + std::to_string(wait_replicas) +
                                          ", so every verification waits wait_timeout_ms for replicas that do not exist"
                                    : ""));
  const std::string n = std::to_string(connected) + " replica" + (connected == 1 ? "" : "s");
  if (wait_replicas == 0)
    return r.add("replicas", Verdict::warn,
                 at(c) + " has " + n + ", replicated asynchronously: after a failover a consumed code or a counted "
                         "guess can be rolled back; add wait_replicas=1 to the store URL so verification waits for a "
                         "replica (README: durability)");
  if (static_cast<std::uint64_t>(wait_replicas) > connected)
    return r.add("replicas", Verdict::warn,
                 at(c) + " has " + n + " but the URL asks wait_replicas=" + std::to_string(wait_replicas) +
                     ": every verification waits wait_timeout_ms and reports fewer confirmations");
  r.add("replicas", Verdict::ok, at(c) + " has " + n + "; verifications wait for " + std::to_string(wait_replicas));
}

// How many keys the store holds under verikit's prefix (SCAN: it does not block the server).
void count_keys(Report& r, redis::Client& c, const std::string& prefix) {
  std::string pattern;
  for (char ch : prefix) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') pattern += '\\';
    pattern += ch;
  }
  pattern += '*';
  std::uint64_t keys = 0;
  std::string cursor = "0";
  do {
    auto rep = c.command_sync({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!rep || rep->is_error() || rep->type != Reply::Type::array || rep->elements.size() != 2)
      return r.add("keys", Verdict::warn, at(c) + " could not be asked how many keys it holds under '" + prefix + "' (SCAN" +
                                              (rep && rep->is_error() ? " refused: " + rep->str : " failed") + ")");
    cursor = rep->elements[0].str;
    keys += rep->elements[1].elements.size();
  } while (cursor != "0");
  r.add("keys", Verdict::ok, at(c) + " holds " + std::to_string(keys) + " keys under the prefix '" + prefix +
                                 "' (codes, tokens, abuse counters and their indexes; each expires by itself)");
}

bool loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

void check_tls(Report& r, const redis::Client& c) {
  const auto& e = c.endpoint();
  if (e.unix_socket) return r.add("tls", Verdict::ok, at(c) + " is a Unix socket: nothing crosses a network");
  if (e.tls && !e.options.tls_verify)
    return r.add("tls", Verdict::warn, at(c) + " is reached over TLS without verifying its certificate (tls_verify=0): "
                                               "anyone on the path can pose as it; remove tls_verify=0");
  if (e.tls) return r.add("tls", Verdict::ok, at(c) + " is reached over TLS (rediss://) with its certificate verified");
  if (loopback(e.host)) return r.add("tls", Verdict::ok, at(c) + " is reached in plain text over loopback");
  r.add("tls", Verdict::warn, at(c) + " is reached in plain text over the network: the password and every record travel "
                                      "unencrypted; use rediss:// (TLS)");
}

// Asks the server which of `commands` this user may not run (redis.acl_check_cmd, Redis 7.0);
// the probe is itself run with EVAL, then loaded and run with EVALSHA, on a key of verikit's.
// Each command is asked about with the key first: Redis 7.0 does not check the arity there, and
// finds a command's keys in its arguments, so SET with none read past them (it crashed 7.0.15);
// a server that does check the arity is asked again with the fewest arguments it accepts.
constexpr std::string_view kProbe = R"lua(
local denied = {}
for _, name in ipairs(ARGV) do
  local allowed = nil
  for _, args in ipairs({{name, KEYS[1]}, {name}, {name, KEYS[1], 'x'}, {name, KEYS[1], 'x', 'x'}}) do
    local ok, res = pcall(redis.acl_check_cmd, unpack(args))
    if ok then allowed = res break end
  end
  if allowed ~= true then denied[#denied + 1] = name end
end
return denied
)lua";

// Adds the "permissions" item; an error only when the server is not ready or answers nonsense.
Status check_permissions(Report& report, redis::Client& c, const RedisRequirements& req) {
  const std::string fix = " Grant them, e.g. ACL SETUSER " + user_of(c) + " +eval +evalsha +script|load";
  auto grant = [&](const std::vector<std::string>& extra) {
    std::string g = fix;
    for (const auto& cmd : extra) {
      std::string lower = cmd;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      g += " +" + lower;
    }
    return g + " and a key pattern that covers '" + req.probe_key + "' (e.g. ~" +
           req.probe_key.substr(0, req.probe_key.find(':') + 1) + "*).";
  };
  auto fail = [&](const std::string& why) { report.add("permissions", Verdict::fail, at(c) + " " + why); };
  auto refused = [&](std::string_view what, const std::string& reply, const std::vector<std::string>& extra) {
    fail("refused " + std::string(what) + " for user '" + user_of(c) + "': " + reply + "." + grant(extra));
  };
  // The probe's reply: the commands denied (none: the item is OK), or why it could not run.
  auto run = [&](std::vector<std::string_view> args, std::string_view what) -> Expected<bool> {
    for (const auto& cmd : req.script_commands) args.push_back(cmd);
    auto r = c.command_sync(args);
    if (!r) return std::move(r).error();
    if (r->is_error()) {
      if (transient(r->str)) return not_ready(c, r->str);
      refused(what, r->str, req.script_commands);
      return false;
    }
    if (r->type != Reply::Type::array) return make_error(Errc::store_protocol, "unexpected reply to verikit's permission check");
    if (r->elements.empty()) return true;
    std::vector<std::string> denied;
    std::string names;
    for (const auto& e : r->elements) {
      denied.push_back(e.str);
      names += (names.empty() ? "" : ", ") + e.str;
    }
    fail("does not let user '" + user_of(c) + "' run " + names + " on '" + req.probe_key +
         "', which verikit's scripts need." + grant(denied));
    return false;
  };
  auto eval = run({"EVAL", kProbe, "1", req.probe_key}, "EVAL");
  if (!eval || !*eval) return eval ? Status(Unit{}) : Status(std::move(eval).error());
  auto load = c.command_sync({"SCRIPT", "LOAD", kProbe});
  if (!load) return std::move(load).error();
  if (load->is_error()) {
    refused("SCRIPT LOAD", load->str, {});
    return Unit{};
  }
  const std::string sha = load->str;
  auto evalsha = run({"EVALSHA", sha, "1", req.probe_key}, "EVALSHA");
  if (!evalsha || !*evalsha) return evalsha ? Status(Unit{}) : Status(std::move(evalsha).error());
  report.add("permissions", Verdict::ok,
             at(c) + " lets user '" + user_of(c) + "' run EVAL, EVALSHA, SCRIPT LOAD and what the scripts call on '" +
                 req.probe_key + "'");
  return Unit{};
}

}  // namespace

std::vector<std::string> commands_called(std::string_view lua) {
  std::vector<std::string> out;
  for (std::string_view call : {std::string_view("redis.call("), std::string_view("redis.pcall(")}) {
    for (auto at = lua.find(call); at != std::string_view::npos; at = lua.find(call, at + 1)) {
      std::size_t p = at + call.size();
      while (p < lua.size() && lua[p] == ' ') ++p;
      if (p >= lua.size() || (lua[p] != '\'' && lua[p] != '"')) continue;
      const char quote = lua[p];
      const auto end = lua.find(quote, p + 1);
      if (end == std::string_view::npos) continue;
      std::string name(lua.substr(p + 1, end - p - 1));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::toupper(ch); });
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Expected<std::vector<StoreCheck>> inspect_server(redis::Client& c, const RedisRequirements& req,
                                                 const OperatorChecks* extra, bool stop_at_fail) {
  Report report;
  report.stop_at_fail = stop_at_fail;
  auto info_reply = c.command_sync({"INFO"});
  if (!info_reply) return std::move(info_reply).error();
  Info info;
  if (info_reply->is_error()) {
    if (transient(info_reply->str)) return not_ready(c, info_reply->str);
    // HELLO (a connection command, which ACLs rarely take away) says the version, mode and role.
    auto hello = c.command_sync({"HELLO", "2"});
    if (!hello) return std::move(hello).error();
    info = from_hello(*hello);
    if (info.empty())
      report.add("version", Verdict::warn,
                 at(c) + " refused INFO (" + info_reply->str +
                     ") and HELLO: verikit cannot check the server's version, role (master or replica) or Cluster "
                     "mode; make sure it is a standalone master, Redis " + std::to_string(kMinRedisMajor) + "." +
                     std::to_string(kMinRedisMinor) + " or later");
  } else if (info_reply->type == Reply::Type::string) {
    info = parse_info(info_reply->str);
  }
  if (auto v = field(info, "redis_version"); !v.empty()) check_version(report, c, v);
  if (report.done()) return std::move(report.items);
  if (!info.empty()) check_topology(report, c, info, req.cluster);
  if (report.done()) return std::move(report.items);

  std::string policy(field(info, "maxmemory_policy"));
  if (policy.empty()) {  // INFO refused or silent: CONFIG GET, which managed services often refuse
    auto r = c.command_sync({"CONFIG", "GET", "maxmemory-policy"});
    if (!r) return std::move(r).error();
    if (!r->is_error() && r->elements.size() == 2) policy = r->elements[1].str;
    else
      report.add("eviction", Verdict::warn,
                 "could not read Redis maxmemory-policy at " + c.endpoint().describe() + " (INFO and CONFIG GET refused" +
                     (r->is_error() ? ": " + r->str : std::string()) +
                     "); make sure it is noeviction: an evicted key loses a credential or an attempt counter");
  }
  if (!policy.empty()) check_eviction(report, c, policy, req.allow_eviction);
  if (report.done()) return std::move(report.items);
  if (extra) {
    check_memory(report, c, info, extra->pending_credentials);
    check_persistence(report, c, info);
    check_replicas(report, c, info, extra->wait_replicas);
    count_keys(report, c, req.probe_key.substr(0, req.probe_key.find(':') + 1));
  }
  if (auto s = check_permissions(report, c, req); !s) return std::move(s).error();
  if (extra) check_tls(report, c);
  return std::move(report.items);
}

Status preflight(redis::Client& c, const RedisRequirements& req, const std::function<void(std::string_view)>& warn) {
  auto report = inspect_server(c, req, nullptr, true);
  if (!report) return std::move(report).error();
  for (const auto& item : *report) {
    if (item.verdict == Verdict::fail) return make_error(Errc::config, item.detail);
    if (item.verdict == Verdict::warn) warn("verikit: WARNING: " + item.detail);
  }
  return Unit{};
}

}  // namespace verikit::detail
