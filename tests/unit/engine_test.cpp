// Unit tests of the engine around its store: configuration, keys and failing closed.
#include <gtest/gtest.h>

#include "support/stores.hpp"

namespace verikit::test {
namespace {

TEST(EngineCreate, EmbeddedStoreWorksWithoutAKey) {
  auto e = Engine::create(Config{});
  ASSERT_TRUE(e.has_value());
  Result code = (*e)->issue_otp("login", "ann").value();
  EXPECT_EQ((*e)->verify_otp("login", "ann", code.secret.view())->outcome, Outcome::verified);
}

TEST(EngineCreate, EphemeralKeysDifferPerEngine) {
  auto store = make_memory_store();
  auto a = Engine::create(Config{}, store).value();
  auto b = Engine::create(Config{}, store).value();
  Result code = a->issue_otp("login", "ann").value();
  EXPECT_EQ(b->verify_otp("login", "ann", code.secret.view())->outcome, Outcome::not_found);
}

TEST(EngineCreate, ASharedStoreNeedsAKey) {
  auto shared = std::make_shared<FaultyStore>(make_error(Errc::store_unavailable, "down"), true);
  auto e = Engine::create(Config{}, shared);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, Errc::config);
  EXPECT_NE(e.error().message.find("key"), std::string::npos);
  Config keyed;
  keyed.keys = KeySet{generate_key(1), {}, std::nullopt};
  EXPECT_TRUE(Engine::create(keyed, shared).has_value());
}

TEST(EngineCreate, StoreUrlsAreChecked) {
  Config c;
  c.store_url = "redis://127.0.0.1:6379";
  EXPECT_EQ(Engine::create(c).error().code, Errc::config) << "a shared store without a key";
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  c.store_url = "redis://127.0.0.1:6379?pool_size=99";
  EXPECT_EQ(Engine::create(c).error().code, Errc::config);
  c.store_url = "postgres://x";
  EXPECT_EQ(Engine::create(c).error().code, Errc::config);
  c.store_url = "memory://";
  EXPECT_TRUE(Engine::create(c).has_value());
  for (const char* good : {"memory://?capacity=16", "memory://?capacity=5000&reap_interval_ms=0", "memory:?reap_interval_ms=250"}) {
    c.store_url = good;
    EXPECT_TRUE(Engine::create(c).has_value()) << good;
  }
  for (const char* bad : {"memory://?capacity=5", "memory://?capacity=", "memory://?capacity=1e6", "memory://?bogus=1",
                          "memory://?reap_interval_ms=-1", "memory://x"}) {
    c.store_url = bad;
    auto e = Engine::create(c);
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_EQ(e.error().code, Errc::config) << bad;
  }
}

TEST(EngineCreate, BadPoliciesAndKeysAreConfigErrors) {
  Config c;
  c.policies["login"].otp_length = 2;
  auto e = Engine::create(c);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, Errc::config);
  EXPECT_NE(e.error().message.find("login"), std::string::npos);
  Config dup;
  dup.keys = KeySet{generate_key(4), {generate_key(4)}, std::nullopt};
  EXPECT_EQ(Engine::create(dup).error().code, Errc::config);
  EXPECT_EQ(Engine::create(Config{}, nullptr).error().code, Errc::invalid_argument);
}

TEST(FailClosed, StoreErrorsAreErrorsNeverOutcomes) {
  auto store = std::make_shared<FaultyStore>(make_error(Errc::store_unavailable, "connection refused"));
  auto e = Engine::create(Config{}, store).value();
  auto issued = e->issue_otp("login", "ann");
  ASSERT_FALSE(issued.has_value());
  EXPECT_EQ(issued.error().code, Errc::store_unavailable);
  auto v = e->verify_otp("login", "ann", "123456");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, Errc::store_unavailable);
  Result token = Engine::create(Config{})->get()->issue_token("x", "y").value();
  EXPECT_FALSE(e->verify_token(token.secret.view(), "x").has_value());
  EXPECT_FALSE(e->revoke_all("login", "ann").has_value());
  EXPECT_FALSE(e->inspect("login", "ann").has_value());
  EXPECT_FALSE(e->revoke_otp("login", "ann").has_value());
}

// The asynchronous forms of revoke, revoke-all, inspect and unlock hand a store fault to their
// completion, once, as the error it is (never an answer such as false or 0).
TEST(FailClosed, AsynchronousFormsCompleteWithTheStoreError) {
  auto store = std::make_shared<FaultyStore>(make_error(Errc::timeout, "no reply within 200 ms"));
  auto e = Engine::create(Config{}, store).value();
  Result token = Engine::create(Config{})->get()->issue_token("x", "y").value();
  std::vector<Error> errors;
  int answers = 0;
  auto bool_done = [&](Expected<bool> r) { r ? void(++answers) : errors.push_back(r.error()); };
  e->revoke_otp("login", "ann", bool_done);
  e->revoke_token(token.secret.view(), bool_done);
  e->revoke_link(token.secret.view(), bool_done);
  e->unlock("login", "ann", bool_done);
  e->revoke_all("login", "ann", [&](Expected<int> r) { r ? void(++answers) : errors.push_back(r.error()); });
  e->inspect("login", "ann", [&](Expected<Result> r) { r ? void(++answers) : errors.push_back(r.error()); });
  EXPECT_EQ(answers, 0);
  ASSERT_EQ(errors.size(), 6u) << "each completes once, before the call returns (this store answers inline)";
  for (const Error& err : errors) {
    EXPECT_EQ(err.code, Errc::timeout);
    EXPECT_EQ(err.message, "no reply within 200 ms");
  }
}

TEST(FailClosed, AStoreClaimingSuccessWithForgedDataIsAnError) {
  auto store = std::make_shared<FaultyStore>(make_error(Errc::store_unavailable, "unused"));
  VerifyReply forged;
  forged.outcome = Outcome::verified;
  forged.sealed_identity = std::string(60, 'x');
  forged.sealed_payload = std::string(60, 'y');
  store->verify_reply = forged;
  Config c;
  c.keys = KeySet{generate_key(1), {}, std::nullopt};
  auto e = Engine::create(c, store).value();
  auto issuer = Engine::create(c).value();
  Result token = issuer->issue_token("confirm", "ann").value();
  auto r = e->verify_token(token.secret.view(), "confirm");
  ASSERT_FALSE(r.has_value()) << "a verified reply that does not authenticate must not be verified";
  EXPECT_EQ(r.error().code, Errc::crypto);
  auto otp = e->verify_otp("login", "ann", "123456");
  ASSERT_FALSE(otp.has_value());
  EXPECT_EQ(otp.error().code, Errc::crypto);
}

// A store that says it completes inline lets the engine keep an operation's state on the
// caller's frame (no allocation); one that kept a completion for later would leave it pointing
// into a frame that is gone. The engine stops the process at once rather than run on into that.
TEST(StoreContract, AStoreThatCompletesInlineButKeepsACompletionStopsTheProcess) {
  class KeepsCompletions final : public Store {
   public:
    void otp_issue(const OtpIssueRequest&, Callback<OtpIssueReply> done) override { done(err()); }
    void otp_verify(const OtpVerifyRequest&, Callback<VerifyReply> done) override { kept_ = std::move(done); }
    void otp_revoke(const std::string&, Callback<bool> done) override { done(err()); }
    void token_issue(const TokenIssueRequest&, Callback<TokenIssueReply> done) override { done(err()); }
    void token_verify(const TokenVerifyRequest&, Callback<VerifyReply> done) override { done(err()); }
    void token_revoke(const std::string&, const std::string&, Callback<bool> done) override { done(err()); }
    void revoke_all(const std::string&, Callback<int> done) override { done(err()); }
    void inspect(const std::string&, Callback<InspectReply> done) override { done(err()); }
    void unlock(const std::string&, const GcraLimit&, Callback<bool> done) override { done(err()); }
    void client_limit(const ClientLimitRequest&, Callback<ClientLimitReply> done) override { done(err()); }
    bool shared() const noexcept override { return false; }
    bool completes_inline() const noexcept override { return true; }

   private:
    static Error err() { return make_error(Errc::store_unavailable, "unused"); }
    Callback<VerifyReply> kept_;
  };
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto e = Engine::create(Config{}, std::make_shared<KeepsCompletions>()).value();
  EXPECT_DEATH(e->verify_otp("login", "ann", "123456", VerifyOptions{}, [](Expected<Result>&&) {}),
               "returned before completing");
  // the same store answering inline (its other operations) works as any store does
  EXPECT_EQ(e->issue_otp("login", "ann").error().code, Errc::store_unavailable);
}

}  // namespace
}  // namespace verikit::test
