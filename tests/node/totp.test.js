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

eachStore(test, 'revokeSecondFactors', async (make) => {
  const m = make({ policy: { ...policy, revokeAllOnUse: true } });
  const seen = [];
  m.on('second_factors.revoked', (e) => seen.push(e));
  assert.equal(await m.revokeSecondFactors('mfa', 'bo'), 0, 'nothing enrolled');
  const enrolled = await m.enrollTotp('mfa', 'bo', 'Acme');
  const { codes } = await m.generateRecoveryCodes('mfa', 'bo');
  const link = await m.issueLink('mfa', 'bo', 'https://app.example/reset');
  assert.equal((await m.consumeLink(link.secret, 'mfa')).status, 'verified');
  assert.equal(await m.revokeAll('mfa', 'bo'), 0);
  assert.equal(await m.recoveryCodesRemaining('mfa', 'bo'), codes.length, 'revokeAll and revokeAllOnUse leave them');
  assert.equal(await m.revokeSecondFactors('mfa', 'BO'), 1 + codes.length);
  assert.equal((await m.verifyTotp('mfa', 'bo', totp(enrolled.secret))).status, 'not_found');
  assert.equal((await m.useRecoveryCode('mfa', 'bo', codes[0])).status, 'not_found');
  assert.equal(await m.revokeSecondFactors('mfa', 'bo'), 0);
  await assert.rejects(m.revokeSecondFactors('mfa', ''), { name: 'InvalidArgumentError' });
  await assert.rejects(m.revokeSecondFactors('no such purpose!', 'bo'), { name: 'InvalidArgumentError' });
  assert.throws(() => m.on('second_factor.revoked', () => {}), /event/i, 'a misspelt event name is refused');
  for (let i = 0; i < 200 && seen.length < 1; ++i) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen.map((e) => [e.name, e.credential, e.kind, e.count, e.purpose]),
    [['second_factors.revoked', 'second_factors', 'revoked', 1 + codes.length, 'mfa']], 'one event, for the removal that removed something');
});

eachStore(test, 'two-step enrollment', async (make) => {
  const m = make({ policy });
  const old = await m.enrollTotp('mfa', 'dee', 'Acme');
  const begun = await m.beginTotpEnrollment('mfa', 'dee', 'Acme');
  assert.equal(begun.status, 'issued');
  assert.equal(typeof begun.pending, 'string');
  assert.ok(begun.pending.length > 0 && !begun.pending.includes(begun.secret), 'the secret is sealed in it');
  assert.equal(old.pending, '', 'only begin hands one out');
  const left = begun.expiresAt.getTime() - Date.now();
  assert.ok(left > 590000 && left < 610000, `expires in ${left} ms`);
  assert.equal((await m.verifyTotp('mfa', 'dee', totp(old.secret))).status, 'verified', 'begin changed nothing');
  const wrong = totp(begun.secret) === '000000' ? '111111' : '000000';
  const first = await m.confirmTotpEnrollment('mfa', 'dee', begun.pending, wrong);
  assert.equal(first.status, 'invalid');
  assert.equal(first.ok, false);
  await assert.rejects(m.confirmTotpEnrollment('mfa', 'dee', begun.pending, '12345'), { name: 'InvalidArgumentError' });
  await assert.rejects(m.confirmTotpEnrollment('mfa', 'dee', 42, '123456'), TypeError);
  const both = await Promise.all([1, 2].map(() => m.confirmTotpEnrollment('mfa', 'dee', begun.pending, totp(begun.secret))));
  assert.deepEqual(both.map((r) => r.status).sort(), ['not_found', 'verified'], 'confirmed once');
  assert.equal((await m.verifyTotp('mfa', 'dee', totp(begun.secret, 1))).status, 'verified', 'the new secret is enrolled');
  assert.equal((await m.inspect('mfa', 'dee')).counters.failures, 1);
});

eachStore(test, 'second-factor events', async (make) => {
  const m = make({ policy });
  const seen = [];
  m.on('*', (e) => seen.push(e));
  const { codes } = await m.generateRecoveryCodes('mfa', 'cy');
  assert.equal((await m.useRecoveryCode('mfa', 'cy', codes[0])).status, 'verified');
  assert.equal((await m.useRecoveryCode('mfa', 'cy', codes[0])).status, 'invalid');
  const enrolled = await m.enrollTotp('mfa', 'cy', 'Acme');
  assert.equal((await m.verifyTotp('mfa', 'cy', totp(enrolled.secret))).status, 'verified');
  const begun = await m.beginTotpEnrollment('mfa', 'cy', 'Acme');
  assert.equal((await m.confirmTotpEnrollment('mfa', 'cy', begun.pending, totp(begun.secret))).status, 'verified');
  assert.equal((await m.confirmTotpEnrollment('mfa', 'cy', begun.pending, totp(begun.secret))).status, 'not_found');
  for (let i = 0; i < 200 && seen.length < 7; ++i) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen.map((e) => [e.name, e.credential, e.kind, e.status]), [
    ['recovery_code.issued', 'recovery_code', 'issued', 'issued'],
    ['recovery_code.verified', 'recovery_code', 'verified', 'verified'],
    ['recovery_code.invalid', 'recovery_code', 'invalid', 'invalid'],
    ['totp.issued', 'totp', 'issued', 'issued'],
    ['totp.verified', 'totp', 'verified', 'verified'],
    ['totp.issued', 'totp', 'issued', 'verified'],  // the two-step enrollment, confirmed
    ['totp.not_found', 'totp', 'not_found', 'not_found'],
  ], 'begin makes no event');
  const secrets = [...codes, enrolled.secret, begun.secret, begun.pending];
  for (const e of seen) {
    assert.equal(e.purpose, 'mfa');
    for (const s of secrets) assert.ok(!JSON.stringify(e).includes(s), `${e.name} holds a secret`);
  }
  const named = [];
  m.on('totp.issued', (e) => named.push(e.status));  // the new names are known to on()
  await m.enrollTotp('mfa', 'cy', 'Acme');
  for (let i = 0; i < 200 && named.length < 1; ++i) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(named, ['issued']);
});
