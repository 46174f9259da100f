'use strict';
// Authenticator codes (TOTP) through the Node binding, on both stores: codes computed here with
// node:crypto, as an authenticator app would.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { eachStore } = require('./helpers');

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const c of text) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  return Buffer.from(out);
}

function totp(secret, offset = 0) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const policy = { sendLimit: false, resendCooldown: 0, clientIssueLimit: false, clientFailureLimit: false,
  clientPairFailureLimit: false, failureLimit: { count: 3, period: 86400, burst: 3 } };

eachStore(test, 'authenticator codes', async (make) => {
  const m = make({ policy });
  assert.equal((await m.verifyTotp('mfa', 'ann', '123456')).status, 'not_found');
  const enrolled = await m.enrollTotp('mfa', 'ann', 'Acme');
  assert.equal(enrolled.status, 'issued');
  const uri = new URL(enrolled.url);
  assert.equal(uri.protocol, 'otpauth:');
  assert.equal(uri.searchParams.get('secret'), enrolled.secret);
  assert.equal(uri.searchParams.get('issuer'), 'Acme');
  const code = totp(enrolled.secret);
  const both = await Promise.all([m.verifyTotp('mfa', 'ann', code), m.verifyTotp('mfa', 'ann', code)]);
  assert.deepEqual(both.map((r) => r.status).sort(), ['invalid', 'verified'], 'two concurrent uses: one succeeds');
  await assert.rejects(m.verifyTotp('mfa', 'ann', '12345'), { name: 'InvalidArgumentError' });
});
