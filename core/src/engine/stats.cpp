// verikit::detail — the engine's counters and their Prometheus text form.
#include "engine/stats.hpp"

#include <cstdio>

#include "engine/events.hpp"

#include "verikit/error.hpp"

namespace verikit::detail {
namespace {

constexpr const char* kOpNames[Stats::kOps] = {"otp_issue",  "otp_verify", "token_issue",  "token_verify", "token_peek",
                                                "link_issue", "link_peek",  "link_consume", "otp_revoke",   "token_revoke",
                                                "revoke_all", "inspect",    "unlock",
                                                "recovery_generate", "recovery_use", "recovery_count",
                                                "totp_enroll", "totp_verify", "second_factors_revoke",
                                                "totp_begin", "totp_confirm"};
constexpr const char* kErrorNames[Stats::kErrors] = {
    "",         "invalid_argument", "config", "store_unavailable", "store_protocol", "timeout", "no_memory",
    "unsupported", "version_mismatch", "crypto", "internal"};

std::string seconds(long long us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(us) / 1e6);
  return buf;
}

}  // namespace

void Stats::record(Op op, int outcome, int error, std::chrono::steady_clock::duration took) noexcept {
  const auto o = static_cast<std::size_t>(op);
  if (error != 0) {
    const int e = -error;
    if (e > 0 && e < kErrors) errors_[o][static_cast<std::size_t>(e)].fetch_add(1, std::memory_order_relaxed);
  } else {
    const int k = outcome < 0 ? kOutcomes - 1 : outcome;
    if (k < kOutcomes) outcomes_[o][static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
  }
  const long long us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  std::size_t b = 0;
  while (b < kBucketsUs.size() && us > kBucketsUs[b]) ++b;
  buckets_[o][b].fetch_add(1, std::memory_order_relaxed);
  sum_us_[o].fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
}

std::string Stats::prometheus() const {
  std::string out;
  auto line = [&out](const std::string& s) { out.append(s).push_back('\n'); };
  line("# HELP verikit_operations_total Engine operations completed, by kind and outcome.");
  line("# TYPE verikit_operations_total counter");
  for (int o = 0; o < kOps; ++o)
    for (int k = 0; k < kOutcomes; ++k)
      if (const auto n = outcomes_[o][k].load(std::memory_order_relaxed); n > 0)
        line(std::string("verikit_operations_total{op=\"") + kOpNames[o] + "\",outcome=\"" +
             (k == kOutcomes - 1 ? "done" : to_string(static_cast<Outcome>(k))) + "\"} " + std::to_string(n));
  line("# HELP verikit_errors_total Engine operations that failed, by kind and error.");
  line("# TYPE verikit_errors_total counter");
  for (int o = 0; o < kOps; ++o)
    for (int e = 1; e < kErrors; ++e)
      if (const auto n = errors_[o][e].load(std::memory_order_relaxed); n > 0)
        line(std::string("verikit_errors_total{op=\"") + kOpNames[o] + "\",error=\"" + kErrorNames[e] + "\"} " +
             std::to_string(n));
  line("# HELP verikit_operation_seconds Time from the call to its completion, by kind.");
  line("# TYPE verikit_operation_seconds histogram");
  for (int o = 0; o < kOps; ++o) {
    std::uint64_t total = 0;
    for (const auto& b : buckets_[o]) total += b.load(std::memory_order_relaxed);
    if (total == 0) continue;
    std::uint64_t cumulative = 0;
    const std::string labels = std::string("{op=\"") + kOpNames[o] + "\"";
    for (std::size_t b = 0; b < kBucketsUs.size(); ++b) {
      cumulative += buckets_[o][b].load(std::memory_order_relaxed);
      line("verikit_operation_seconds_bucket" + labels + ",le=\"" + seconds(kBucketsUs[b]) + "\"} " + std::to_string(cumulative));
    }
    line("verikit_operation_seconds_bucket" + labels + ",le=\"+Inf\"} " + std::to_string(total));
    line("verikit_operation_seconds_sum" + labels + "} " + seconds(static_cast<long long>(sum_us_[o].load(std::memory_order_relaxed))));
    line("verikit_operation_seconds_count" + labels + "} " + std::to_string(total));
  }
  if (events_) {
    line("# HELP verikit_events_delivered_total Lifecycle events handed to the event handler.");
    line("# TYPE verikit_events_delivered_total counter");
    line("verikit_events_delivered_total " + std::to_string(events_->delivered()));
    line("# HELP verikit_events_dropped_total Lifecycle events dropped: the queue was full, or the engine was closing.");
    line("# TYPE verikit_events_dropped_total counter");
    line("verikit_events_dropped_total " + std::to_string(events_->dropped()));
  }
  return out;
}

}  // namespace verikit::detail
