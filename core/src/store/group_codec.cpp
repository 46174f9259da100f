// verikit::detail — the file store's record format (version 1):
//   group:  u8 version, u8 'g', i64 cooldown_until, send_tat, failure_tat, indexed_until,
//           u8 has_otp [u8 key_id, str hash, sealed_code, sealed_payload, payload_hash,
//                       i32 attempts_left, i64 expires_at, u8 flags, str binding_hash],
//           u32 tokens [str id, u8 kind, str purpose_tag, sealed_identity, sealed_payload,
//                       i64 expires_at, u8 flags, str binding_hash]... (in issue order: the cap on
//                       live ones revokes the first), u32 pairs [str client, i64 tat]...,
//           u8 has_recovery [u32 codes [u8 key_id, str hash]..., i64 expires_at],
//           u8 has_totp [str sealed_secret, i64 last_step, generation, expires_at]
//   client: u8 version, u8 'c', i64 issue_tat, failure_tat, indexed_until
// str: u32 length + bytes; integers little-endian; flags: 1 one_time, 2 revoke_group, 4 (a
// token's) listed in issue order.
#include "store/group_codec.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace verikit::detail {
namespace {

constexpr std::uint8_t kOneTime = 1, kRevokeGroup = 2;
// A token's flag: its record lists the tokens in issue order (written since 0.4.0: 0.4.0 wrote
// them in no set order, and reads past this flag). Such tokens are numbered from kSequenced on,
// after any of 0.4.0's, which are ordered by expiry, as 0.4.0's cap chose.
constexpr std::uint8_t kInIssueOrder = 4;
constexpr long long kSequenced = 1LL << 50;

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_i64(std::string& out, long long v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(u >> (8 * i)));
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
std::uint8_t flags(bool one_time, bool revoke_group) {
  return static_cast<std::uint8_t>((one_time ? kOneTime : 0) | (revoke_group ? kRevokeGroup : 0));
}

// Reads fields in order; any read past the end (or a length that does not fit) marks it bad.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool bad() const { return bad_; }
  bool done() const { return !bad_ && b_.empty(); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    const char* p = take(4);
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
  }
  long long i64() {
    std::uint64_t v = 0;
    const char* p = take(8);
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return static_cast<long long>(v);
  }
  std::string str() {
    const std::uint32_t n = u32();
    const char* p = take(n);
    return bad_ ? std::string() : std::string(p, n);
  }
  TimePoint time() { return TimePoint(std::chrono::milliseconds(i64())); }

 private:
  const char* take(std::size_t n) {
    static const char zeros[8] = {};
    if (bad_ || n > b_.size()) {
      bad_ = true;
      return zeros;
    }
    const char* p = b_.data();
    b_.remove_prefix(n);
    return p;
  }
  std::string_view b_;
  bool bad_ = false;
};

Error damaged() { return make_error(Errc::store_protocol, "a file store record is damaged (it cannot be read)"); }

// The version and kind bytes: an unknown version is named (a newer verikit wrote it).
Status check_header(Reader& r, char kind) {
  const std::uint8_t version = r.u8();
  if (!r.bad() && version != kRecordFormat)
    return make_error(Errc::store_protocol, "a file store record has format version " + std::to_string(version) +
                                                " and this verikit reads version " + std::to_string(kRecordFormat) +
                                                " only (was the store written by a newer verikit?)");
  if (r.u8() != static_cast<std::uint8_t>(kind) || r.bad()) return damaged();
  return Unit{};
}

}  // namespace

void encode_group(const Group& g, std::string& out) {
  out.clear();
  put_u8(out, kRecordFormat);
  put_u8(out, 'g');
  put_i64(out, g.rate.cooldown_until);
  put_i64(out, g.rate.send_tat);
  put_i64(out, g.rate.failure_tat);
  put_i64(out, g.indexed_until);
  put_u8(out, g.otp ? 1 : 0);
  if (g.otp) {
    const OtpRecord& o = *g.otp;
    put_u8(out, o.key_id);
    put_str(out, o.hash.view());
    put_str(out, o.sealed_code);
    put_str(out, o.sealed_payload);
    put_str(out, o.payload_hash);
    put_u32(out, static_cast<std::uint32_t>(o.attempts_left));
    put_i64(out, ms(o.expires_at));
    put_u8(out, flags(o.one_time, o.revoke_group));
    put_str(out, o.binding_hash);
  }
  put_u32(out, static_cast<std::uint32_t>(g.tokens.size()));
  // In issue order: the sequence is the order (decode_group numbers them as it reads them).
  std::vector<std::pair<const std::string*, const TokenRecord*>> tokens;
  tokens.reserve(g.tokens.size());
  for (const auto& [id, t] : g.tokens) tokens.emplace_back(&id, &t);
  std::sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
  for (const auto& [id_ptr, t_ptr] : tokens) {
    const std::string& id = *id_ptr;
    const TokenRecord& t = *t_ptr;
    put_str(out, id);
    put_u8(out, static_cast<std::uint8_t>(t.kind));
    put_str(out, t.purpose_tag);
    put_str(out, t.sealed_identity);
    put_str(out, t.sealed_payload);
    put_i64(out, ms(t.expires_at));
    put_u8(out, static_cast<std::uint8_t>(flags(t.one_time, t.revoke_group) | kInIssueOrder));
    put_str(out, t.binding_hash);
  }
  put_u32(out, static_cast<std::uint32_t>(g.pairs.size()));
  for (const auto& [client, tat] : g.pairs) {
    put_str(out, client);
    put_i64(out, tat);
  }
  put_u8(out, g.recovery ? 1 : 0);
  if (g.recovery) {
    put_u32(out, static_cast<std::uint32_t>(g.recovery->codes.size()));
    for (const SecretHash& c : g.recovery->codes) {
      put_u8(out, c.key_id);
      put_str(out, c.hash);
    }
    put_i64(out, ms(g.recovery->expires_at));
  }
  put_u8(out, g.totp ? 1 : 0);
  if (g.totp) {
    put_str(out, g.totp->sealed_secret);
    put_i64(out, g.totp->last_step);
    put_i64(out, g.totp->generation);
    put_i64(out, ms(g.totp->expires_at));
  }
}

Expected<Group> decode_group(std::string_view bytes) {
  Reader r(bytes);
  if (auto s = check_header(r, 'g'); !s) return std::move(s).error();
  Group g;
  g.rate.cooldown_until = r.i64();
  g.rate.send_tat = r.i64();
  g.rate.failure_tat = r.i64();
  g.indexed_until = r.i64();
  if (r.u8() != 0) {
    OtpRecord o;
    o.key_id = r.u8();
    o.hash = r.str();
    o.sealed_code = r.str();
    o.sealed_payload = r.str();
    o.payload_hash = r.str();
    o.attempts_left = static_cast<int>(r.u32());
    o.expires_at = r.time();
    const std::uint8_t f = r.u8();
    o.one_time = (f & kOneTime) != 0;
    o.revoke_group = (f & kRevokeGroup) != 0;
    o.binding_hash = r.str();
    g.otp = std::move(o);
  }
  long long position = kSequenced;  // the records' sequence is their issue order (encode_group)
  for (std::uint32_t n = r.u32(); n > 0 && !r.bad(); --n) {
    std::string id = r.str();
    TokenRecord t;
    ++position;
    const std::uint8_t kind = r.u8();
    if (kind != static_cast<std::uint8_t>(TokenKind::token) && kind != static_cast<std::uint8_t>(TokenKind::link))
      return damaged();
    t.kind = static_cast<TokenKind>(kind);
    t.purpose_tag = r.str();
    t.sealed_identity = r.str();
    t.sealed_payload = r.str();
    t.expires_at = r.time();
    const std::uint8_t f = r.u8();
    t.one_time = (f & kOneTime) != 0;
    t.revoke_group = (f & kRevokeGroup) != 0;
    t.order = (f & kInIssueOrder) != 0 ? position : ms(t.expires_at);
    t.binding_hash = r.str();
    g.tokens.emplace(std::move(id), std::move(t));
  }
  for (std::uint32_t n = r.u32(); n > 0 && !r.bad(); --n) {
    std::string client = r.str();
    const long long tat = r.i64();
    g.pairs.emplace(std::move(client), tat);
  }
  if (r.u8() != 0) {
    RecoverySet set;
    for (std::uint32_t n = r.u32(); n > 0 && !r.bad(); --n) {
      SecretHash c;
      c.key_id = r.u8();
      c.hash = r.str();
      set.codes.push_back(std::move(c));
    }
    set.expires_at = r.time();
    g.recovery = std::move(set);
  }
  if (r.u8() != 0) {
    TotpRecord t;
    t.sealed_secret = r.str();
    t.last_step = r.i64();
    t.generation = r.i64();
    t.expires_at = r.time();
    g.totp = std::move(t);
  }
  if (!r.done()) return damaged();
  return g;
}

void encode_client(const ClientBuckets& b, std::string& out) {
  out.clear();
  put_u8(out, kRecordFormat);
  put_u8(out, 'c');
  put_i64(out, b.issue_tat);
  put_i64(out, b.failure_tat);
  put_i64(out, b.indexed_until);
}

Expected<ClientBuckets> decode_client(std::string_view bytes) {
  Reader r(bytes);
  if (auto s = check_header(r, 'c'); !s) return std::move(s).error();
  ClientBuckets b;
  b.issue_tat = r.i64();
  b.failure_tat = r.i64();
  b.indexed_until = r.i64();
  if (!r.done()) return damaged();
  return b;
}

}  // namespace verikit::detail
