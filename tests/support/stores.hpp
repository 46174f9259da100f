// Test support: store harnesses for the conformance suite, and store decorators that record
// what reaches a store or inject faults.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "verikit/verikit.hpp"

namespace verikit::test {

// A store under test with a way to move its time forward.
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual std::shared_ptr<Store> store() = 0;
  virtual TimePoint now() = 0;
  virtual void advance(std::chrono::milliseconds d) = 0;
};

struct HarnessFactory {
  std::string name;
  std::function<std::unique_ptr<StoreHarness>()> make;
  friend void PrintTo(const HarnessFactory& f, std::ostream* os) { *os << f.name; }
};

class MemoryHarness final : public StoreHarness {
 public:
  MemoryHarness() : clock_(std::make_shared<ManualClock>()), store_(make_memory_store(clock_)) {}
  std::shared_ptr<Store> store() override { return store_; }
  TimePoint now() override { return clock_->now(); }
  void advance(std::chrono::milliseconds d) override { clock_->advance(d); }

 private:
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Store> store_;
};

// Forwards to another store; every byte string of every request is kept for inspection.
class RecordingStore final : public Store {
 public:
  explicit RecordingStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}

  void otp_issue(const OtpIssueRequest& r, Callback<OtpIssueReply> done) override {
    record({r.group, std::string(r.secret_hash.view()), r.sealed_code, r.sealed_payload, r.payload_hash});
    inner_->otp_issue(r, std::move(done));
  }
  void otp_verify(const OtpVerifyRequest& r, Callback<VerifyReply> done) override {
    record({r.group, r.budget.client});
    for (const auto& c : r.candidates) record({std::string(c.hash.view())});
    inner_->otp_verify(r, std::move(done));
  }
  void otp_revoke(const std::string& g, Callback<bool> done) override {
    record({g});
    inner_->otp_revoke(g, std::move(done));
  }
  void token_issue(const TokenIssueRequest& r, Callback<TokenIssueReply> done) override {
    record({r.group, r.token_id, r.purpose_tag, r.sealed_identity, r.sealed_payload});
    inner_->token_issue(r, std::move(done));
  }
  void token_verify(const TokenVerifyRequest& r, Callback<VerifyReply> done) override {
    record({r.group, r.token_id, r.purpose_tag});
    inner_->token_verify(r, std::move(done));
  }
  void token_revoke(const std::string& g, const std::string& id, Callback<bool> done) override {
    record({g, id});
    inner_->token_revoke(g, id, std::move(done));
  }
  void revoke_all(const std::string& g, Callback<int> done) override {
    record({g});
    inner_->revoke_all(g, std::move(done));
  }
  void inspect(const std::string& g, Callback<InspectReply> done) override {
    record({g});
    inner_->inspect(g, std::move(done));
  }
  void unlock(const std::string& g, const GcraLimit& b, Callback<bool> done) override {
    record({g});
    inner_->unlock(g, b, std::move(done));
  }
  void client_limit(const ClientLimitRequest& r, Callback<ClientLimitReply> done) override {
    record({r.client});
    inner_->client_limit(r, std::move(done));
  }
  bool shared() const noexcept override { return inner_->shared(); }

  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  void record(std::initializer_list<std::string> fields) {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.insert(seen_.end(), fields.begin(), fields.end());
  }
  std::shared_ptr<Store> inner_;
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

// A store whose every operation fails with the given error, or answers with the given reply.
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(Error error, bool is_shared = false) : error_(std::move(error)), shared_(is_shared) {}
  void otp_issue(const OtpIssueRequest&, Callback<OtpIssueReply> done) override { done(error_); }
  void otp_verify(const OtpVerifyRequest&, Callback<VerifyReply> done) override { reply(done); }
  void otp_revoke(const std::string&, Callback<bool> done) override { done(error_); }
  void token_issue(const TokenIssueRequest&, Callback<TokenIssueReply> done) override { done(error_); }
  void token_verify(const TokenVerifyRequest&, Callback<VerifyReply> done) override { reply(done); }
  void token_revoke(const std::string&, const std::string&, Callback<bool> done) override { done(error_); }
  void revoke_all(const std::string&, Callback<int> done) override { done(error_); }
  void inspect(const std::string&, Callback<InspectReply> done) override { done(error_); }
  void unlock(const std::string&, const GcraLimit&, Callback<bool> done) override { done(error_); }
  void client_limit(const ClientLimitRequest&, Callback<ClientLimitReply> done) override { done(error_); }
  bool shared() const noexcept override { return shared_; }

  // Instead of failing, verify operations answer this (a store returning garbage).
  std::optional<VerifyReply> verify_reply;

 private:
  void reply(const Callback<VerifyReply>& done) {
    if (verify_reply) done(*verify_reply);
    else done(error_);
  }
  Error error_;
  bool shared_;
};

}  // namespace verikit::test
