// Redis Cluster key slots (CRC16 and hash tags) against the published vectors, which slot a
// command's keys fall in, and the cluster and Sentinel URLs.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "redis/endpoint.hpp"
#include "redis/slot.hpp"

namespace verikit::redis {
namespace {

int slot_of(std::vector<std::string_view> args) { return command_slot(std::span<const std::string_view>(args)); }

TEST(RedisSlot, Crc16MatchesTheReferenceVector) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the check value of CRC16/XMODEM (Redis Cluster spec)
  EXPECT_EQ(crc16(""), 0);
}

TEST(RedisSlot, KeySlotsMatchRedis) {
  // As CLUSTER KEYSLOT answers (checked against redis-server 7.0 by the cluster tests too).
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("somekey"), 11058);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
}

TEST(RedisSlot, HashTagsFollowTheSpec) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);  // an empty tag: the whole key
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));  // the tag ends at the first '}'
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));   // only the first tag counts
  EXPECT_EQ(key_slot("vk:{login:abc}:o"), key_slot("vk:{login:abc}:t"));
  EXPECT_EQ(key_slot("no tag}{"), crc16("no tag}{") % 16384);
}

TEST(RedisSlot, CommandsNameTheirKeys) {
  const int a = key_slot("{a}x");
  EXPECT_EQ(slot_of({"GET", "{a}x"}), a);
  EXPECT_EQ(slot_of({"evalsha", "0123", "2", "{a}x", "{a}y", "arg"}), a);
  EXPECT_EQ(slot_of({"EVAL", "return 1", "0"}), kNoKey);
  EXPECT_EQ(slot_of({"EVALSHA", "0123", "2", "{a}x", "{b}y"}), kCrossSlot);
  EXPECT_EQ(slot_of({"FCALL", "f", "1", "{a}x"}), a);
  for (std::string_view keyless : {"PING", "INFO", "SCRIPT", "script", "CLUSTER", "WAIT", "TIME", "ROLE"})
    EXPECT_EQ(slot_of({keyless, "x"}), kNoKey) << keyless;
}

TEST(RedisEndpoint, ClusterUrls) {
  auto ep = parse_endpoint("redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002?command_timeout_ms=500");
  ASSERT_TRUE(ep.has_value()) << ep.error().message;
  EXPECT_EQ(ep->topology, Endpoint::Topology::cluster);
  ASSERT_EQ(ep->seeds.size(), 3u);
  EXPECT_EQ(ep->seeds[1].host, "10.0.0.2");
  EXPECT_EQ(ep->seeds[1].port, 7001);
  EXPECT_EQ(ep->seeds[2].host, "::1");
  EXPECT_EQ(ep->username, "u");
  EXPECT_EQ(ep->password, "p@ss");
  EXPECT_EQ(ep->options.command_timeout.count(), 500);
  EXPECT_FALSE(ep->tls);
  const Endpoint node = ep->at("10.0.0.9", 7009);
  EXPECT_EQ(node.topology, Endpoint::Topology::single);
  EXPECT_EQ(node.describe(), "10.0.0.9:7009");
  EXPECT_EQ(node.password, "p@ss");

  auto tls = parse_endpoint("rediss+cluster://h1:1,h2?tls_ca=/ca.pem");
  ASSERT_TRUE(tls.has_value()) << tls.error().message;
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->seeds[1].port, 6379);
  EXPECT_EQ(tls->at("h3", 3).options.tls_ca_file, "/ca.pem");

  for (const char* bad : {"redis+cluster://h:1/3", "redis+cluster://h:1?db=2", "redis+cluster://h:1,", "redis://a:1,b:2",
                          "redis+cluster://h:1?sentinel_password=x"}) {
    auto e = parse_endpoint(bad);
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_EQ(e.error().code, Errc::config);
  }
  EXPECT_TRUE(is_redis_url("redis+cluster://h:1"));
  EXPECT_TRUE(is_redis_url("rediss+sentinel://h:1/m"));
}

TEST(RedisEndpoint, SentinelUrls) {
  auto ep = parse_endpoint("redis+sentinel://:pw@s1:26380,s2/my%20master?db=2&sentinel_password=sp");
  ASSERT_TRUE(ep.has_value()) << ep.error().message;
  EXPECT_EQ(ep->topology, Endpoint::Topology::sentinel);
  EXPECT_EQ(ep->master_name, "my master");
  ASSERT_EQ(ep->seeds.size(), 2u);
  EXPECT_EQ(ep->seeds[0].port, 26380);
  EXPECT_EQ(ep->seeds[1].port, 26379);  // a Sentinel's default port
  EXPECT_EQ(ep->password, "pw");
  EXPECT_EQ(ep->sentinel_password, "sp");
  EXPECT_EQ(ep->db, 2);
  for (const char* bad : {"redis+sentinel://s1:26379", "redis+sentinel://s1:26379/", "redis+sentinel://s1/a/b"}) {
    auto e = parse_endpoint(bad);
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_NE(e.error().message.find("master"), std::string::npos) << e.error().message;
  }
}

}  // namespace
}  // namespace verikit::redis
