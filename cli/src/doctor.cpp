// verikit CLI — doctor (is a Redis fit for verikit?) and stats (what the store holds), both
// from the core's store check (verikit_store_check): the CLI only prints its report.
#include <algorithm>
#include <cstdio>
#include <string>

#include "cli.hpp"

namespace vkcli {

namespace {

constexpr const char* kDoctorHelp = R"(usage: verikit doctor [URL] [--pending N] [--prefix P] [--json]

Checks that the Redis server at URL (else --store URL or $VERIKIT_STORE) is fit for verikit,
with the URL's options (allow_eviction=1, wait_replicas=N, TLS options) and key prefix, item by
item, each OK, WARN or FAIL with what to do. A redis+cluster:// or redis+sentinel:// URL checks
every primary (each item names its server):
  version      Redis 7.0 or later
  role         a standalone master, or a Cluster primary for redis+cluster:// (a replica, or
               Cluster mode behind redis://: FAIL)
  eviction     maxmemory-policy noeviction (another policy: FAIL; WARN with allow_eviction=1)
  memory       maxmemory headroom: room for how many pending codes; --pending N: FAIL when N
               pending codes would not fit, WARN over 90% full
  persistence  AOF / RDB settings and what a crash can lose
  replicas     asynchronous replicas without wait_replicas in the URL: WARN
  keys         how many keys the server holds under the prefix
  permissions  the commands the ACL user must be allowed (EVAL, EVALSHA, SCRIPT LOAD and what
               verikit's scripts call) on verikit's keys
  tls          TLS in use (plain text beyond loopback: WARN)
No key is needed; nothing is written but a probe script into the server's script cache.

  --pending N  codes you expect to be live at once (default 0: only report the room)
  --prefix P   your application's key prefix (default vk)
  --json       {"fit": true|false, "items": [{"item", "verdict": "ok|warn|fail", "detail"}]}

Exit codes: 0 fit (OK or WARN only); 1 unfit (a FAIL); 2 usage (also: not a Redis URL);
3 the server cannot be checked (unreachable, authentication refused, not ready).
)";

constexpr const char* kStatsHelp = R"(usage: verikit stats [URL] [--prefix P] [--json]

What the store holds: verikit's keys under the prefix (counted with SCAN, which does not block
the server) and its memory (used, maxmemory, room for how many more pending codes).

verikit's operation counters (issues, verifications by outcome, errors, latency histograms)
live in each process that runs an engine and start at zero with it: serve them from your
application (C verikit_engine_metrics, Python engine.metrics(), Node manager.metrics()) on its
/metrics endpoint. A command-line process has none worth showing, so stats does not pretend;
`verikit bench` prints its own engine's counters at the end of a run.

Exit codes: 0 shown; 2 usage; 3 the store cannot be asked.
)";

const char* verdict_label(int v) { return v == VERIKIT_CHECK_OK ? "OK" : v == VERIKIT_CHECK_WARN ? "WARN" : "FAIL"; }
const char* verdict_name(int v) { return v == VERIKIT_CHECK_OK ? "ok" : v == VERIKIT_CHECK_WARN ? "warn" : "fail"; }

struct ReportHolder {
  verikit_store_report* report = nullptr;
  ~ReportHolder() { verikit_store_report_free(report); }
};

struct Item {
  const char* name = "";
  int verdict = VERIKIT_CHECK_OK;
  const char* detail = "";
};

std::vector<Item> check_store(const Args& args, const std::string& url, std::uint64_t pending, ReportHolder& holder) {
  ConfigHolder config;
  make_config(config, args, url, false);
  check(verikit_store_check(&holder.report, config.config, pending), "checking the store");
  std::vector<Item> items(verikit_store_report_count(holder.report));
  for (std::size_t i = 0; i < items.size(); ++i)
    check(verikit_store_report_item(holder.report, i, &items[i].name, &items[i].verdict, &items[i].detail), "reading the report");
  return items;
}

std::string url_of(const Args& args, std::string_view command) {
  const auto& pos = args.positionals();
  if (pos.size() > 1) throw Failure{kUsage, std::string(command) + " takes at most one URL: see verikit " + std::string(command) + " --help"};
  return pos.empty() ? store_url(args) : pos[0];
}

void print_json(const std::vector<Item>& items, const char* verdict_key, bool verdict) {
  std::printf("{\"%s\": %s, \"items\": [", verdict_key, verdict ? "true" : "false");
  for (std::size_t i = 0; i < items.size(); ++i)
    std::printf("%s{\"item\": %s, \"verdict\": \"%s\", \"detail\": %s}", i ? ", " : "", json_string(items[i].name).c_str(),
                verdict_name(items[i].verdict), json_string(items[i].detail).c_str());
  std::printf("]}\n");
}

}  // namespace

int cmd_doctor(const Args& args) {
  if (args.flag("--help")) return std::fputs(kDoctorHelp, stdout), kOk;
  const std::string url = url_of(args, "doctor");
  const auto pending = args.number("--pending", 0, 0, 1'000'000'000'000ULL);
  ReportHolder holder;
  const auto items = check_store(args, url, pending, holder);
  int fails = 0, warns = 0;
  for (const auto& it : items) {
    fails += it.verdict == VERIKIT_CHECK_FAIL;
    warns += it.verdict == VERIKIT_CHECK_WARN;
  }
  if (args.flag("--json")) {
    print_json(items, "fit", fails == 0);
  } else {
    for (const auto& it : items) std::printf("%-4s  %-11s  %s\n", verdict_label(it.verdict), it.name, it.detail);
    if (fails) std::printf("\nUNFIT: %d item(s) failed; fix them before pointing verikit at this server.\n", fails);
    else if (warns) std::printf("\nFIT with %d warning(s): read them.\n", warns);
    else std::printf("\nFIT\n");
  }
  return fails ? kNegative : kOk;
}

int cmd_stats(const Args& args) {
  if (args.flag("--help")) return std::fputs(kStatsHelp, stdout), kOk;
  const std::string url = url_of(args, "stats");
  ReportHolder holder;
  std::vector<Item> shown;
  for (const auto& it : check_store(args, url, 0, holder))
    if (std::string_view(it.name) == "keys" || std::string_view(it.name) == "memory") shown.push_back(it);
  // Neither figure read (the user may not SCAN nor INFO): "the store cannot be asked", exit 3, not
  // "shown" (a script reading exit 0 and ok: true would take the WARNs for figures).
  const bool read_any = std::any_of(shown.begin(), shown.end(), [](const Item& it) {
    const std::string_view name = it.name, detail = it.detail;
    if (name == "keys") return it.verdict == VERIKIT_CHECK_OK;  // (its only WARN: SCAN could not be asked)
    return detail.find("did not report used_memory") == std::string_view::npos;
  });
  if (args.flag("--json")) {
    print_json(shown, "ok", read_any);
  } else {
    for (const auto& it : shown) std::printf("%-6s  %s\n", it.name, it.detail);
    std::printf("(operation counters live in each application process: serve verikit_engine_metrics on /metrics; "
                "see verikit stats --help)\n");
  }
  if (!read_any)
    throw Failure{kStore, "stats: the store could be asked for neither figure (SCAN and INFO refused or failed: see "
                          "the items above)"};
  return kOk;
}

}  // namespace vkcli
