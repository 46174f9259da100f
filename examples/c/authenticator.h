/*
 * What the user's authenticator app computes, for the quick start only: the current code of an
 * otpauth:// secret (TOTP, RFC 6238: HOTP, RFC 4226, over HMAC-SHA-1, 6 digits, 30 s steps).
 * Your application never needs this: verikit checks the codes; the app on the phone makes them.
 * SHA-1 here is the algorithm RFC 6238 names; it is not used for anything else.
 */
#ifndef VERIKIT_EXAMPLE_AUTHENTICATOR_H
#define VERIKIT_EXAMPLE_AUTHENTICATOR_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t vk_rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* SHA-1 (FIPS 180-4) of `len` bytes: 20 bytes into `out`. */
static void vk_sha1(const uint8_t *data, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  const uint64_t bits = (uint64_t)len * 8;
  const size_t total = ((len + 8) / 64 + 1) * 64; /* the message, 0x80, zeros, the length */
  for (size_t block = 0; block < total; block += 64) {
    uint32_t w[80];
    for (int i = 0; i < 64; i++) {
      const size_t at = block + (size_t)i;
      uint8_t b = 0;
      if (at < len) b = data[at];
      else if (at == len) b = 0x80;
      else if (at >= total - 8) b = (uint8_t)(bits >> (8 * (total - 1 - at)));
      if (i % 4 == 0) w[i / 4] = 0;
      w[i / 4] |= (uint32_t)b << (24 - 8 * (i % 4));
    }
    for (int i = 16; i < 80; i++) w[i] = vk_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1u;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
      else f = b ^ c ^ d, k = 0xCA62C1D6u;
      const uint32_t t = vk_rol(a, 5) + f + e + k + w[i];
      e = d, d = c, c = vk_rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  for (int i = 0; i < 20; i++) out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* HMAC-SHA-1 (RFC 2104) of an 8-byte message under a key of at most 64 bytes. */
static void vk_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t msg[8], uint8_t out[20]) {
  uint8_t inner[64 + 8], outer[64 + 20];
  for (int i = 0; i < 64; i++) {
    const uint8_t k = (size_t)i < key_len ? key[i] : 0;
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  memcpy(inner + 64, msg, 8);
  vk_sha1(inner, sizeof inner, outer + 64);
  vk_sha1(outer, sizeof outer, out);
}

/* The 6-digit code of a base32 secret (as in the otpauth:// URI) `offset` 30 s steps from unix
 * time `now_s`, into code[7]. Returns 0 if the secret is not base32 of at most 64 bytes. */
static int vk_totp(const char *secret_b32, long long now_s, int offset, char code[7]) {
  uint8_t key[64];
  size_t n = 0;
  unsigned acc = 0;
  int bits = 0;
  for (const char *p = secret_b32; *p != '\0' && *p != '='; p++) {
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const char *at = strchr(alphabet, *p);
    if (at == NULL || n == sizeof key) return 0;
    acc = (acc << 5) | (unsigned)(at - alphabet);
    bits += 5;
    if (bits >= 8) key[n++] = (uint8_t)(acc >> (bits -= 8));
  }
  const uint64_t step = (uint64_t)(now_s / 30 + offset);
  uint8_t msg[8], mac[20];
  for (int i = 0; i < 8; i++) msg[i] = (uint8_t)(step >> (56 - 8 * i));
  vk_hmac_sha1(key, n, msg, mac);
  const int at = mac[19] & 0x0f; /* dynamic truncation (RFC 4226 section 5.3) */
  const uint32_t v = ((uint32_t)(mac[at] & 0x7f) << 24) | ((uint32_t)mac[at + 1] << 16) |
                     ((uint32_t)mac[at + 2] << 8) | mac[at + 3];
  snprintf(code, 7, "%06u", (unsigned)(v % 1000000u));
  return 1;
}

#endif
