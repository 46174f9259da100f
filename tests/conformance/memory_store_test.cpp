// The conformance suite on the embedded store (with a manual clock).
#include "conformance/conformance.hpp"

namespace verikit::test {

std::vector<HarnessFactory> store_harnesses() {
  return {HarnessFactory{"memory", [] { return std::make_unique<MemoryHarness>(); }}};
}

INSTANTIATE_TEST_SUITE_P(Stores, Conformance, ::testing::ValuesIn(store_harnesses()), harness_name);

}  // namespace verikit::test

// ---- the embedded store's own guarantees: memory comes back, capacity, its clock ----

#include <malloc.h>

#include <fstream>
#include <thread>

namespace verikit::test {
namespace {

using namespace std::chrono_literals;

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::shared_ptr<Engine> engine_on(std::shared_ptr<Store> store, bool abuse_controls = false) {
  Config c;
  if (!abuse_controls) c.default_policy = without_abuse_controls(c.default_policy);
  return Engine::create(c, std::move(store)).value();
}

// Distinct identifiers that all expire: every record is reclaimed, and the memory comes back.
// With the default policy (abuse controls on), as an application issues: each identifier's
// group outlives its code by its abuse state (cooldown, send rate, failure budget), and goes
// once that has expired too.
TEST(MemoryStore, ExpiredRecordsOfDistinctIdentifiersAreReclaimed) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.capacity = 2'000'000, .reap_interval = 0ms});
  auto e = engine_on(store, true);
  malloc_trim(0);
  const long before = rss_kib();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr int kIds = 200'000;  // (slow there, and their allocators keep memory: no RSS check)
#else
  constexpr int kIds = 1'000'000;  // the issue's figure: a million distinct identifiers
#endif
  for (int i = 0; i < kIds; ++i)
    ASSERT_EQ(e->issue_otp("login", "user" + std::to_string(i), IssueOptions{.ttl = 2s})->outcome, Outcome::issued);
  const long grown = rss_kib();
  EXPECT_EQ(memory_store_stats(*store)->records, static_cast<std::size_t>(kIds));
  clock->advance(3s);  // the codes have expired; the abuse state has not
  reap_expired(*store);
  EXPECT_EQ(memory_store_stats(*store)->records, static_cast<std::size_t>(kIds)) << "abuse state outlives the codes";
  EXPECT_EQ(e->verify_otp("login", "user0", "000000")->outcome, Outcome::not_found);
  clock->advance(24h);  // longer than any default window: nothing is left to keep
  EXPECT_GE(reap_expired(*store), static_cast<std::size_t>(kIds));
  const MemoryStoreStats after = *memory_store_stats(*store);
  EXPECT_EQ(after.records, 0u);
  EXPECT_EQ(after.indexed, 0u);
  malloc_trim(0);
  const long back = rss_kib();
  std::printf("[ measure  ] RSS: %ld KiB before, %ld KiB with %d live codes, %ld KiB after they expired\n", before, grown,
              kIds, back);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // their allocators keep memory on purpose
  EXPECT_GT(grown - before, 20'000) << "the records took memory";
  EXPECT_LT(back - before, (grown - before) / 50) << "and it came back (within 2% of what they took)";
#endif
}

// Without the reaper thread, writes alone keep the store at its live size: each write reaps a
// few due records, more than it adds.
TEST(MemoryStore, WritesReapMoreThanTheyAdd) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.reap_interval = 0ms});
  auto e = engine_on(store);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20'000; ++i)
      e->issue_otp("login", "r" + std::to_string(round) + "-" + std::to_string(i), IssueOptions{.ttl = 1s}).value();
    clock->advance(2s);  // this round's codes are all expired before the next round's writes
  }
  EXPECT_LE(memory_store_stats(*store)->records, 20'000u + 1'000u) << "one round's worth, not five";
}

TEST(MemoryStore, TheReaperThreadReclaimsWithoutWrites) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.reap_interval = 20ms});
  auto e = engine_on(store);
  for (int i = 0; i < 1000; ++i) e->issue_token("confirm", "t" + std::to_string(i), IssueOptions{.ttl = 1s}).value();
  clock->advance(2s);
  for (int waited = 0; waited < 500 && memory_store_stats(*store)->records > 0; ++waited) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(memory_store_stats(*store)->records, 0u) << "reclaimed by the reaper within 5 s";
}

// A capacity bounds the records; beyond it a new identifier is refused clearly (not silently
// dropped), while the identifiers already held keep working; expired records make room.
TEST(MemoryStore, CapacityRefusesNewRecordsClearly) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.capacity = 160, .reap_interval = 0ms});
  auto e = engine_on(store);
  int issued = 0, refused = 0;
  std::string first_code;
  for (int i = 0; i < 1000; ++i) {
    auto r = e->issue_otp("login", "c" + std::to_string(i), IssueOptions{.ttl = 60s});
    if (r) {
      ++issued;
      if (i == 0) first_code = std::string(r->secret.view());
    } else {
      ++refused;
      EXPECT_EQ(r.error().code, Errc::store_unavailable);
      EXPECT_NE(r.error().message.find("full"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_LE(issued, 160);
  EXPECT_GE(issued, 100) << "the shards fill unevenly, but most of the capacity is used";
  EXPECT_EQ(issued + refused, 1000);
  EXPECT_LE(memory_store_stats(*store)->records, 160u);
  EXPECT_EQ(e->verify_otp("login", "c0", first_code)->outcome, Outcome::verified) << "held records keep working";
  clock->advance(61s);
  EXPECT_EQ(e->issue_otp("login", "newcomer")->outcome, Outcome::issued) << "expired records make room";
}

// A record whose long-lived part goes (an authenticator enrollment and recovery codes removed,
// years of lifetime) is reaped by its new, earlier deadline: it does not hold a slot of the
// capacity until the old one (found by an adversarial review: 27 of 300 issues refused as full).
TEST(MemoryStore, ARecordWhoseDeadlineMovesEarlierIsReapedByTheNewOne) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.capacity = 64, .reap_interval = 0ms});
  auto e = engine_on(store);
  for (int i = 0; i < 64; ++i) {
    const std::string id = "mfa" + std::to_string(i);
    auto enrolled = e->enroll_totp("login", id, "Acme");
    if (!enrolled) break;  // (the shards fill unevenly)
    ASSERT_EQ(e->issue_otp("login", id, IssueOptions{.ttl = 60s})->outcome, Outcome::issued);
    ASSERT_EQ(e->revoke_second_factors("login", id).value(), 1);  // the code stays, 60 s
  }
  const std::size_t held = memory_store_stats(*store)->records;
  ASSERT_GT(held, 0u);
  // The codes have expired, and so has the record of a new generation a removal keeps for a day
  // and an hour (so that a pending two-step enrollment begun before it finds it changed).
  clock->advance(26h);
  reap_expired(*store);
  EXPECT_EQ(memory_store_stats(*store)->records, 0u) << "reaped by the deadline left after the removal";
  int issued = 0;
  for (int i = 0; i < 40; ++i) issued += e->issue_otp("login", "new" + std::to_string(i)).has_value();
  EXPECT_GE(issued, 30) << "the capacity is free again";
}

// Removing second factors where there are none writes nothing: naming made-up identifiers fills
// no capacity (found by an adversarial review when every removal left a record for a day).
TEST(MemoryStore, RemovingSecondFactorsOfNobodyWritesNothing) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.capacity = 64, .reap_interval = 0ms});
  auto e = engine_on(store);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(e->revoke_second_factors("login", "nobody" + std::to_string(i)).value(), 0);
  EXPECT_EQ(memory_store_stats(*store)->records, 0u);
  ASSERT_TRUE(e->enroll_totp("login", "ann", "Acme").has_value());
  EXPECT_EQ(e->revoke_second_factors("login", "ann").value(), 1);
  EXPECT_EQ(memory_store_stats(*store)->records, 1u) << "of a removed enrollment, a new generation stays";
  EXPECT_EQ(e->revoke_second_factors("login", "ann").value(), 0) << "that record is no enrollment";
}

// A Store call's completion, which the embedded store runs before the call returns.
template <class T, class Start>
Expected<T> answer(Start&& start) {
  std::optional<Expected<T>> got;
  start(Callback<T>([&got](Expected<T>&& r) { got.emplace(std::move(r)); }));
  if (!got) return make_error(Errc::internal, "the memory store did not complete inline");
  return std::move(*got);
}

// The store holds a record's name in its map node up to 32 bytes and on the heap beyond: names
// of every length across that line (as the Store interface may pass them; the engine's are
// 22-byte tags), and names that differ only in their last byte or only past the 32nd, are each
// their own record: issued, found by their own code only, reaped when they expire (the expiry
// index copies and moves names as it reorders), and nothing is left.
TEST(MemoryStore, NamesOfEveryLengthAreDistinctRecords) {
  auto clock = std::make_shared<ManualClock>();
  auto store = make_memory_store(clock, MemoryStoreOptions{.reap_interval = 0ms});
  std::vector<std::string> names;
  for (std::size_t n = 0; n <= 80; ++n) {
    names.push_back(std::string(n, 'g'));
    if (n > 0) names.push_back(std::string(n - 1, 'g') + 'h');        // differs in its last byte
    if (n > 33) names.push_back(std::string(n, 'g').replace(33, 1, "x"));  // only past the 32nd
  }
  auto hash_of = [](std::size_t i) { return "hash-" + std::to_string(i); };
  for (std::size_t i = 0; i < names.size(); ++i) {
    OtpIssueRequest req;
    req.group = names[i];
    req.key_id = 1;
    req.secret_hash = hash_of(i);
    req.ttl = std::chrono::milliseconds(1000 + static_cast<long long>(i));  // deadlines in every order
    req.max_attempts = 3;
    ASSERT_EQ(answer<OtpIssueReply>([&](auto cb) { store->otp_issue(req, std::move(cb)); })->outcome, Outcome::issued);
  }
  EXPECT_EQ(memory_store_stats(*store)->records, names.size()) << "one record per name";
  auto verify = [&](std::size_t i, const std::string& hash) {
    OtpVerifyRequest req;
    req.group = names[i];
    req.candidates.push_back({1, hash});
    return answer<VerifyReply>([&](auto cb) { store->otp_verify(req, std::move(cb)); })->outcome;
  };
  for (std::size_t i = 0; i + 1 < names.size(); i += 2) {
    EXPECT_EQ(verify(i, hash_of(i + 1)), Outcome::invalid) << "another name's code, name of " << names[i].size();
    EXPECT_EQ(verify(i, hash_of(i)), Outcome::verified) << "its own code, name of " << names[i].size();
  }
  EXPECT_EQ(memory_store_stats(*store)->records, names.size() - names.size() / 2) << "each verified code, and only it, is gone";
  clock->advance(2000ms + std::chrono::milliseconds(names.size()));
  reap_expired(*store);  // the rest have expired
  EXPECT_EQ(memory_store_stats(*store)->records, 0u);
  EXPECT_EQ(memory_store_stats(*store)->indexed, 0u);
}

TEST(MonotonicClock, StartsAtTheSystemTimeAndNeverGoesBack) {
  MonotonicClock clock;
  const auto sys = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  EXPECT_LE(std::chrono::abs(clock.now() - sys), 1000ms);
  TimePoint last = clock.now();
  for (int i = 0; i < 1000; ++i) {
    const TimePoint t = clock.now();
    ASSERT_GE(t, last);
    last = t;
  }
}

}  // namespace
}  // namespace verikit::test
