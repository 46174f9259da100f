// verikit — the Redis store's start-up checks (see redis_preflight.hpp).
#include "store/redis_preflight.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace verikit::detail {
namespace {

using redis::Reply;
using Info = std::map<std::string, std::string, std::less<>>;

Error refuse(const redis::Client& c, const std::string& why) {
  return make_error(Errc::config, "Redis at " + c.endpoint().describe() + " " + why);
}

std::string user_of(const redis::Client& c) {
  return c.endpoint().username.empty() ? std::string("default") : c.endpoint().username;
}

// Error replies a healthy server gives for a while (loading its data, running a long script):
// worth retrying later, not a configuration to fix.
bool transient(std::string_view error) {
  return error.starts_with("LOADING") || error.starts_with("BUSY") || error.starts_with("MASTERDOWN") ||
         error.starts_with("TRYAGAIN");
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

// "7.0.15" -> {7, 0}; false if it does not start with two numbers.
bool parse_version(std::string_view v, int& major, int& minor) {
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, major);
  if (ec != std::errc() || p == end || *p != '.') return false;
  auto [q, ec2] = std::from_chars(p + 1, end, minor);
  return ec2 == std::errc();
}

Status check_version(const redis::Client& c, std::string_view version) {
  int major = 0, minor = 0;
  if (!parse_version(version, major, minor)) return refuse(c, "reports a version verikit cannot read: '" + std::string(version) + "'");
  if (major > kMinRedisMajor || (major == kMinRedisMajor && minor >= kMinRedisMinor)) return Unit{};
  return refuse(c, "is Redis " + std::string(version) + "; verikit needs Redis " + std::to_string(kMinRedisMajor) + "." +
                       std::to_string(kMinRedisMinor) + " or later (script flags, redis.acl_check_cmd): upgrade the server");
}

Status check_topology(const redis::Client& c, const Info& info, bool cluster) {
  const auto mode = field(info, "cluster_enabled");
  if (mode == "1" && !cluster)
    return refuse(c, "runs in Cluster mode (cluster_enabled:1): name the cluster with a redis+cluster:// URL "
                     "(redis+cluster://host:port,host:port,...) so that verikit routes each key to its node");
  if (mode == "0" && cluster)
    return refuse(c, "is not in Cluster mode (cluster_enabled:0) but the URL is redis+cluster://: use redis:// for a "
                     "single server");
  const auto role = field(info, "role");
  if (role == "slave" || role == "replica") {
    std::string master(field(info, "master_host"));
    if (!master.empty()) master = " of " + master + ":" + std::string(field(info, "master_port"));
    return refuse(c, "is a replica" + master + ": writes would fail (READONLY) or be lost; point verikit at the master");
  }
  return Unit{};
}

Status check_eviction(const redis::Client& c, std::string_view policy, bool allow,
                      const std::function<void(std::string_view)>& warn) {
  if (policy == "noeviction") return Unit{};
  const std::string why = "has maxmemory-policy '" + std::string(policy) +
                          "': under memory pressure Redis would evict verikit's keys, losing credentials and attempt "
                          "counters (an evicted counter hands an attacker fresh guesses); every verikit key has a TTL, "
                          "so volatile-* policies evict exactly them";
  if (!allow)
    return refuse(c, why + ". Set maxmemory-policy to noeviction (CONFIG SET maxmemory-policy noeviction, and in "
                           "redis.conf), or accept the risk with allow_eviction=1 in the store URL "
                           "(RedisOptions::allow_eviction)");
  warn("verikit: WARNING: Redis at " + c.endpoint().describe() + " " + why +
       ". Accepted because allow_eviction is set; set maxmemory-policy noeviction to be safe.");
  return Unit{};
}

// Asks the server which of `commands` this user may not run (redis.acl_check_cmd, Redis 7.0);
// the probe is itself run with EVAL, then loaded and run with EVALSHA, on a key of verikit's.
constexpr std::string_view kProbe = R"lua(
local denied = {}
for _, name in ipairs(ARGV) do
  local args, allowed = {name}, nil
  for extra = 0, 3 do  -- the fewest arguments the command's arity accepts
    local ok, res = pcall(redis.acl_check_cmd, unpack(args))
    if ok then allowed = res break end
    args[#args + 1] = extra == 0 and KEYS[1] or 'x'
  end
  if allowed ~= true then denied[#denied + 1] = name end
end
return denied
)lua";

Status check_permissions(redis::Client& c, const RedisRequirements& req) {
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
  auto run = [&](std::vector<std::string_view> args, std::string_view what) -> Expected<Reply> {
    for (const auto& cmd : req.script_commands) args.push_back(cmd);
    auto r = c.command_sync(args);
    if (!r) return r;
    if (r->is_error()) {
      if (transient(r->str))
        return make_error(Errc::store_unavailable, "Redis at " + c.endpoint().describe() + " is not ready: " + r->str);
      return refuse(c, "refused " + std::string(what) + " for user '" + user_of(c) + "': " + r->str + "." +
                           grant(req.script_commands));
    }
    return r;
  };
  auto denied_of = [&](const Reply& r) -> Status {
    if (r.type != Reply::Type::array) return make_error(Errc::store_protocol, "unexpected reply to verikit's permission check");
    if (r.elements.empty()) return Unit{};
    std::vector<std::string> denied;
    std::string names;
    for (const auto& e : r.elements) {
      denied.push_back(e.str);
      names += (names.empty() ? "" : ", ") + e.str;
    }
    return refuse(c, "does not let user '" + user_of(c) + "' run " + names + " on '" + req.probe_key +
                         "', which verikit's scripts need." + grant(denied));
  };
  auto eval = run({"EVAL", kProbe, "1", req.probe_key}, "EVAL");
  if (!eval) return std::move(eval).error();
  if (auto s = denied_of(*eval); !s) return s;
  auto load = c.command_sync({"SCRIPT", "LOAD", kProbe});
  if (!load) return std::move(load).error();
  if (load->is_error()) return refuse(c, "refused SCRIPT LOAD for user '" + user_of(c) + "': " + load->str + "." + grant({}));
  const std::string sha = load->str;
  auto evalsha = run({"EVALSHA", sha, "1", req.probe_key}, "EVALSHA");
  if (!evalsha) return std::move(evalsha).error();
  return denied_of(*evalsha);
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

Status preflight(redis::Client& c, const RedisRequirements& req, const std::function<void(std::string_view)>& warn) {
  auto info_reply = c.command_sync({"INFO"});
  if (!info_reply) return std::move(info_reply).error();
  Info info;
  if (info_reply->is_error()) {
    if (transient(info_reply->str))
      return make_error(Errc::store_unavailable, "Redis at " + c.endpoint().describe() + " is not ready: " + info_reply->str);
    // HELLO (a connection command, which ACLs rarely take away) says the version, mode and role.
    auto hello = c.command_sync({"HELLO", "2"});
    if (!hello) return std::move(hello).error();
    info = from_hello(*hello);
    if (info.empty())
      warn("verikit: Redis at " + c.endpoint().describe() + " refused INFO (" + info_reply->str +
           ") and HELLO: verikit cannot check the server's version, role (master or replica) or Cluster mode; make "
           "sure it is a standalone master, Redis " + std::to_string(kMinRedisMajor) + "." +
           std::to_string(kMinRedisMinor) + " or later");
  } else if (info_reply->type == Reply::Type::string) {
    info = parse_info(info_reply->str);
  }
  if (auto v = field(info, "redis_version"); !v.empty())
    if (auto s = check_version(c, v); !s) return s;
  if (auto s = check_topology(c, info, req.cluster); !s) return s;

  std::string policy(field(info, "maxmemory_policy"));
  if (policy.empty()) {  // INFO refused or silent: CONFIG GET, which managed services often refuse
    auto r = c.command_sync({"CONFIG", "GET", "maxmemory-policy"});
    if (!r) return std::move(r).error();
    if (!r->is_error() && r->elements.size() == 2) policy = r->elements[1].str;
    else
      warn("verikit: could not read Redis maxmemory-policy at " + c.endpoint().describe() + " (INFO and CONFIG GET " +
           "refused" + (r->is_error() ? ": " + r->str : std::string()) + "); make sure it is noeviction: an evicted key "
           "loses a credential or an attempt counter");
  }
  if (!policy.empty())
    if (auto s = check_eviction(c, policy, req.allow_eviction, warn); !s) return s;
  return check_permissions(c, req);
}

}  // namespace verikit::detail
