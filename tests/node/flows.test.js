'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { verikit, eachStore } = require('./helpers');

eachStore(test, 'one-time codes', async (make) => {
  const m = make();
  const r = await m.issueOtp('login', 'alice@example.com', { payload: Buffer.from([0, 1, 2]) });
  assert.equal(r.status, 'issued');
  assert.ok(r.ok);
  assert.match(r.secret, /^\d{6}$/);
  assert.ok(r.expiresAt instanceof Date);
  assert.equal(r.attemptsRemaining, 5);
  const wrong = await m.verifyOtp('login', 'alice@example.com', r.secret === '000000' ? '111111' : '000000');
  assert.equal(wrong.status, 'invalid');
  assert.equal(wrong.ok, false);
  assert.equal(wrong.attemptsRemaining, 4);
  const ok = await m.verifyOtp('login', 'alice@example.com', r.secret);
  assert.equal(ok.status, 'verified');
  assert.deepEqual([...ok.payload], [0, 1, 2]);
  assert.equal(ok.identifier, 'alice@example.com');
  assert.equal(ok.replicasConfirmed, null, 'no durability asked (wait_replicas)');
  assert.equal((await m.verifyOtp('login', 'alice@example.com', r.secret)).status, 'not_found');
  const again = await m.issueOtp('login', 'alice@example.com');
  assert.equal(again.status, 'cooldown');
  assert.ok(again.retryAfter > 25000 && again.retryAfter <= 30000);
  assert.equal(again.secret, '');
});

eachStore(test, 'tokens, links and per-identifier operations', async (make) => {
  const m = make({ abuseControls: false, policies: { reset: { revokeAllOnUse: true } } });
  const t = await m.issueToken('confirm', 'bob', { payload: '{"a":1}' });
  assert.equal((await m.peekToken(t.secret, 'confirm')).status, 'valid');
  const v = await m.consumeToken(t.secret, 'confirm');
  assert.equal(v.status, 'verified');
  assert.equal(v.purpose, 'confirm');
  assert.equal(v.payload.toString(), '{"a":1}');
  assert.equal((await m.consumeToken(t.secret, 'confirm')).status, 'not_found');
  assert.equal((await m.consumeToken('garbage', 'confirm')).status, 'not_found');
  const l1 = await m.issueLink('reset', 'bob', 'https://e.com/reset?lang=fr');
  assert.equal(l1.url, `https://e.com/reset?lang=fr&token=${l1.secret}`);
  const l2 = await m.issueLink('reset', 'bob', 'https://e.com/reset');
  assert.equal((await m.peekLink(l1.secret, 'reset')).status, 'valid');
  assert.equal((await m.consumeLink(l2.secret, 'reset')).status, 'verified');
  assert.equal((await m.consumeLink(l1.secret, 'reset')).status, 'not_found');
  const t2 = await m.issueToken('confirm', 'bob');
  assert.equal(await m.revokeToken(t2.secret), true);
  assert.equal(await m.revokeToken(t2.secret), false);
  await m.issueOtp('confirm', 'bob');
  await m.issueToken('confirm', 'bob');
  const seen = await m.inspect('confirm', 'bob');
  assert.equal(seen.status, 'valid');
  assert.equal(seen.activeTokens, 1);
  assert.equal(typeof seen.counters.failures, 'number');
  assert.equal(await m.revokeAll('confirm', 'bob'), 2);
  assert.equal(await m.revokeOtp('confirm', 'bob'), false);
});

eachStore(test, 'lockout, unlock and client keys', async (make) => {
  const m = make({ policy: { failureLimit: { count: 1, period: 3600, burst: 2 }, resendCooldown: 0, clientFailureLimit: { count: 1, period: 3600, burst: 1 } } });
  const c = await m.issueOtp('login', 'carl');
  const bad = c.secret === '000000' ? '111111' : '000000';
  await m.verifyOtp('login', 'carl', bad);
  const locked = await m.verifyOtp('login', 'carl', bad);
  assert.equal(locked.status, 'locked');
  assert.ok(locked.retryAfter > 800000);
  assert.ok((await m.inspect('login', 'carl')).counters.lockedUntil instanceof Date);
  assert.equal(await m.unlock('login', 'carl'), true);
  assert.equal((await m.verifyOtp('login', 'carl', c.secret)).status, 'verified');
  const d = await m.issueOtp('login', 'dora');
  const e = await m.issueOtp('login', 'edna');
  assert.equal((await m.verifyOtp('login', 'dora', '000000' === d.secret ? '111111' : '000000', { clientKey: '10.9.8.7' })).status, 'invalid');
  assert.equal((await m.verifyOtp('login', 'edna', e.secret, { clientKey: '10.9.8.7' })).status, 'rate_limited');
});

eachStore(test, 'many concurrent promises', async (make) => {
  const m = make({ abuseControls: false });
  const ids = Array.from({ length: 3000 }, (_, i) => `user${i}@example.com`);
  const codes = await Promise.all(ids.map((id) => m.issueOtp('login', id)));
  const results = await Promise.all(ids.map((id, i) => m.verifyOtp('login', id, codes[i].secret)));
  assert.ok(results.every((r) => r.ok));
  const one = await m.issueOtp('login', 'race');
  const race = await Promise.all(Array.from({ length: 64 }, () => m.verifyOtp('login', 'race', one.secret)));
  assert.equal(race.filter((r) => r.ok).length, 1);
});

test('two managers with one key share Redis', async () => {
  const { startRedis } = require('./helpers');
  const redis = await startRedis();
  const key = verikit.generateKey();
  const a = new verikit.Manager({ url: redis.url, key });
  const b = new verikit.Manager({ url: redis.url, key });
  const r = await a.issueOtp('login', 'gus');
  assert.equal((await b.verifyOtp('login', 'gus', r.secret)).status, 'verified');
  a.close();
  b.close();
  await redis.stop();
});

eachStore(test, 'spellings, the failure budget, a key rotation and resendSame', async (make, url) => {
  const otherThan = (c) => (c === '111111' ? '222222' : '111111');
  const oldKey = verikit.generateKey(), newKey = verikit.generateKey();
  assert.throws(() => make({ key: newKey, keyId: 2, previousKeys: [[1, oldKey]] }), { name: 'ConfigError', message: /index key/ });
  const policy = { resendCooldown: 0, failureLimit: { count: 1, period: 3600, burst: 3 } };
  const before = make({ key: oldKey, keyId: 1, keyPrefix: 'node-rotation', policy });
  const code = await before.issueOtp('login', 'Rita@Example.com ');
  assert.equal(code.identifier, 'rita@example.com');
  assert.equal((await before.verifyOtp('login', 'rita@example.com', otherThan(code.secret))).status, 'invalid');
  const { counters } = await before.inspect('login', ' RITA@example.com');
  assert.equal(counters.failures, 1);
  assert.equal(counters.guessesAvailable, 2);
  await assert.rejects(before.verifyOtp('login', 'rita@example.com', '12345'), { name: 'InvalidArgumentError', message: /6 digits/ });
  const after = make({ key: newKey, keyId: 2, previousKeys: [[1, oldKey]], indexKey: oldKey, keyPrefix: 'node-rotation', policy });
  if (url !== 'memory://') {  // two managers share one store: the rotation resets and splits nothing
    const seen = await after.inspect('login', 'rita@example.com');
    assert.equal(seen.counters.failures, 1);
    assert.equal(seen.attemptsRemaining, 4);
    assert.equal((await after.verifyOtp('login', 'rita@example.com', code.secret)).status, 'verified');
  }
  const resend = make({ policy: { reissue: 'resendSame', resendCooldown: 0 } });
  const first = await resend.issueOtp('verify-email', 'sam', { payload: 'new@sam.example' });
  const same = await resend.issueOtp('verify-email', 'sam', { payload: 'new@sam.example' });
  const moved = await resend.issueOtp('verify-email', 'sam', { payload: 'other@evil.example' });
  assert.equal(first.reused, false);
  assert.equal(same.reused, true);
  assert.equal(same.secret, first.secret);
  assert.equal(moved.reused, false);
});

eachStore(test, 'metrics in the Prometheus text format', async (make) => {
  const m = make({ abuseControls: false });
  const c = await m.issueOtp('login', 'met@example.com');
  await m.verifyOtp('login', 'met@example.com', c.secret === '111111' ? '222222' : '111111');
  assert.equal((await m.verifyOtp('login', 'met@example.com', c.secret)).status, 'verified');
  await assert.rejects(m.verifyOtp('login', '', c.secret), { name: 'InvalidArgumentError' });
  const text = m.metrics();
  for (const line of ['verikit_operations_total{op="otp_issue",outcome="issued"} 1',
    'verikit_operations_total{op="otp_verify",outcome="invalid"} 1',
    'verikit_operations_total{op="otp_verify",outcome="verified"} 1',
    'verikit_errors_total{op="otp_verify",error="invalid_argument"} 1',
    'verikit_operation_seconds_count{op="otp_verify"} 3']) {
    assert.ok(text.includes(line + '\n'), line);
  }
  m.close();
  assert.throws(() => m.metrics(), /closed/);
});
