'use strict';
// Issue 16: no Manager method may be misread as success. The names borrowed from
// redis-otp-manager (whose `verify` resolves true or throws) are gone from Manager; every
// outcome is an object (always truthy in JavaScript), whose `ok` is true only for verified,
// valid and issued; token and link checks require a purpose.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { verikit, eachStore, startRedis, PKG } = require('./helpers');

const BORROWED = ['generate', 'verify', 'generateToken', 'verifyToken', 'generateLink'];
const STATUSES = ['verified', 'valid', 'issued', 'invalid', 'not_found', 'attempts_exhausted', 'locked', 'rate_limited', 'cooldown'];
const SUCCESS = ['verified', 'valid', 'issued'];

// Every method of Manager, by what it resolves to. A method added to Manager fails the test
// below until it is listed here (and, if it checks a secret, covered by the wrong-secret test).
const METHODS = {
  checks: ['verifyOtp', 'peekToken', 'consumeToken', 'peekLink', 'consumeLink', 'useRecoveryCode', 'verifyTotp',
    'confirmTotpEnrollment'],
  issues: ['issueOtp', 'issueToken', 'issueLink', 'generateRecoveryCodes', 'enrollTotp', 'beginTotpEnrollment'],
  booleans: ['revokeOtp', 'revokeToken', 'revokeLink', 'unlock'],
  other: ['constructor', 'revokeAll', 'inspect', 'close', 'metrics', 'on', 'off', 'eventCounts', 'recoveryCodesRemaining',
    'revokeSecondFactors'],
};

const otherThan = (code) => (code === '000000' ? '111111' : '000000');
// The same token with one character of its secret part changed: well-formed, never issued.
const tampered = (token) => {
  const i = token.length - 5;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
};

test('Manager has none of the names borrowed from redis-otp-manager', () => {
  const m = new verikit.Manager();
  try {
    for (const name of BORROWED) {
      assert.equal(name in m, false, `${name} is on a Manager (instance or prototype chain)`);
      assert.equal(Object.hasOwn(verikit.Manager.prototype, name), false, name);
      assert.equal(verikit.Engine.prototype[name], undefined, name);
    }
    const own = Object.getOwnPropertyNames(verikit.Manager.prototype).sort();
    assert.deepEqual(own, Object.values(METHODS).flat().sort(), 'every Manager method is classified in METHODS');
    assert.equal(typeof m.consumeToken, 'function');
  } finally {
    m.close();
  }
});

eachStore(test, 'a wrong code or unknown token never resolves to something that reads as success', async (make) => {
  const m = make({ abuseControls: false });
  const code = await m.issueOtp('login', 'ann@example.com');
  const token = await m.issueToken('confirm', 'ann@example.com');
  const link = await m.issueLink('reset', 'ann@example.com', 'https://e.com/reset');
  const begun = await m.beginTotpEnrollment('login', 'bo@example.com', 'Acme');
  const calls = {
    'verifyOtp, wrong code': () => m.verifyOtp('login', 'ann@example.com', otherThan(code.secret)),
    'verifyOtp, no code issued': () => m.verifyOtp('login', 'nobody@example.com', '123456'),
    'peekToken, tampered token': () => m.peekToken(tampered(token.secret), 'confirm'),
    'peekToken, wrong purpose': () => m.peekToken(token.secret, 'reset'),
    'consumeToken, tampered token': () => m.consumeToken(tampered(token.secret), 'confirm'),
    'consumeToken, unknown token': () => m.consumeToken('garbage', 'confirm'),
    'consumeToken, wrong purpose': () => m.consumeToken(token.secret, 'reset'),
    'peekLink, tampered token': () => m.peekLink(tampered(link.secret), 'reset'),
    'consumeLink, tampered token': () => m.consumeLink(tampered(link.secret), 'reset'),
    'consumeLink, wrong purpose': () => m.consumeLink(link.secret, 'confirm'),
    'useRecoveryCode, no set': () => m.useRecoveryCode('login', 'ann@example.com', 'ABCDE-FGHJK'),
    'verifyTotp, not enrolled': () => m.verifyTotp('login', 'ann@example.com', '123456'),
    "confirmTotpEnrollment, another's pending": () => m.confirmTotpEnrollment('login', 'ann@example.com', begun.pending, '123456'),
    'confirmTotpEnrollment, not a pending enrollment': () => m.confirmTotpEnrollment('login', 'bo@example.com', 'garbage', '123456'),
  };
  const covered = new Set();
  for (const [what, call] of Object.entries(calls)) {
    covered.add(what.split(',')[0]);
    const r = await call();
    assert.equal(typeof r, 'object', what);
    assert.equal(Boolean(r), true, `${what}: results are objects, truthy whatever the outcome: test .ok`);
    assert.equal(r.ok, false, what);
    assert.ok(!SUCCESS.includes(r.status), `${what}: ${r.status}`);
    assert.equal(r.secret, '', what);
    assert.equal(r.pending, '', what);
    if (!/^(verifyOtp|useRecoveryCode|verifyTotp|confirmTotpEnrollment)/.test(what)) assert.equal(r.identifier, '', `${what}: reveals no identifier`);
  }
  assert.deepEqual([...covered].sort(), [...METHODS.checks].sort(), 'every checking method is covered');
  // redis-otp-manager's verifyToken(email, token) argument order, applied to consumeToken: the
  // token, read as a purpose, is longer than a purpose may be.
  await assert.rejects(m.consumeToken('ann@example.com', token.secret), verikit.InvalidArgumentError);
  // None of those calls used or spent the credentials.
  assert.equal((await m.verifyOtp('login', 'ann@example.com', code.secret)).status, 'verified');
  assert.equal((await m.consumeToken(token.secret, 'confirm')).status, 'verified');
  assert.equal((await m.consumeLink(link.secret, 'reset')).status, 'verified');
});

eachStore(test, 'ok is true exactly for verified, valid and issued, over every status', async (make) => {
  const m = make({
    policies: {
      once: { maxAttempts: 1 },
      lock: { failureLimit: { count: 1, period: 3600, burst: 1 } },
      limit: { resendCooldown: 0, sendLimit: { count: 1, period: 3600, burst: 1 } },
    },
  });
  const seen = new Map();
  const record = (r) => { seen.set(r.status, r); return r; };
  const c = record(await m.issueOtp('login', 'bea'));
  record(await m.verifyOtp('login', 'bea', otherThan(c.secret)));
  record(await m.issueOtp('login', 'bea'));
  record(await m.verifyOtp('login', 'bea', c.secret));
  record(await m.verifyOtp('login', 'bea', c.secret));
  const once = await m.issueOtp('once', 'bea');
  record(await m.verifyOtp('once', 'bea', otherThan(once.secret)));
  const lock = await m.issueOtp('lock', 'bea');
  await m.verifyOtp('lock', 'bea', otherThan(lock.secret));
  record(await m.verifyOtp('lock', 'bea', lock.secret));
  await m.issueOtp('limit', 'bea');
  record(await m.issueOtp('limit', 'bea'));
  const t = await m.issueToken('confirm', 'cat');
  record(await m.peekToken(t.secret, 'confirm'));
  assert.deepEqual([...seen.keys()].sort(), [...STATUSES].sort(), 'every status was reached');
  for (const [status, r] of seen) {
    assert.equal(r.ok, SUCCESS.includes(status), status);
    if (!r.ok) assert.equal(r.secret, '', `${status} carries no secret`);
  }
});

test('token and link checks require a purpose; ANY_PURPOSE is the explicit opt-in', async () => {
  assert.equal(verikit.ANY_PURPOSE, '*');
  const m = new verikit.Manager({ abuseControls: false });
  try {
    const token = await m.issueToken('confirm', 'dee');
    const link = await m.issueLink('reset', 'dee', 'https://e.com/reset');
    const checks = [
      ['peekToken', token.secret], ['consumeToken', token.secret], ['peekLink', link.secret], ['consumeLink', link.secret],
    ];
    for (const [name, secret] of checks) {
      await assert.rejects(m[name](secret), { name: 'TypeError', message: /purpose must be a string.*ANY_PURPOSE/ }, name);
      await assert.rejects(m[name](secret, undefined), { name: 'TypeError' }, name);
      await assert.rejects(m[name](secret, null), { name: 'TypeError' }, name);
      await assert.rejects(m[name](secret, 1), { name: 'TypeError' }, name);
      await assert.rejects(m[name](secret, ''), { name: 'InvalidArgumentError', code: 'VERIKIT_E_INVALID_ARGUMENT' }, name);
    }
    // The explicit opt-in accepts any purpose (a peek, so nothing is used).
    const any = await m.peekToken(token.secret, verikit.ANY_PURPOSE);
    assert.equal(any.status, 'valid');
    assert.equal(any.purpose, 'confirm');
    assert.equal((await m.peekLink(link.secret, verikit.ANY_PURPOSE)).purpose, 'reset');
    assert.equal((await m.peekToken(token.secret, 'reset')).status, 'not_found', 'another purpose');
    await assert.rejects(m.issueToken(verikit.ANY_PURPOSE, 'dee'), { name: 'InvalidArgumentError' }, '"*" is no purpose');
    // The rejected calls used nothing.
    assert.equal((await m.consumeToken(token.secret, 'confirm')).status, 'verified');
    assert.equal((await m.consumeLink(link.secret, 'reset')).status, 'verified');
  } finally {
    m.close();
  }
});

// The addon hands the factory a status's number and an empty payload as null (index.js names
// them, and makes the expiry a Date): every outcome reaches JS as the schema's name with its ok,
// every payload is a Buffer of its own, empty or with the bytes given, every expiry a Date or null.
eachStore(test, 'each outcome arrives as its schema name and ok, each payload as a Buffer of its own', async (make) => {
  const m = make({ policy: { maxAttempts: 2, resendCooldown: 0, failureLimit: false, clientFailureLimit: false } });
  const seen = new Map();
  const note = (r) => {
    assert.ok(Object.hasOwn(verikit.statuses, r.status), r.status);
    assert.equal(r.ok, verikit.statuses[r.status].ok, r.status);
    assert.equal(typeof r.ok, 'boolean', r.status);
    assert.ok(Buffer.isBuffer(r.payload), `${r.status}: payload is a Buffer`);
    seen.set(r.status, r);
    return r;
  };
  const plain = note(await m.issueOtp('login', 'pat'));
  const other = note(await m.issueOtp('login', 'quinn', { payload: Buffer.from('hi') }));
  assert.equal(plain.payload.length, 0);
  assert.notEqual(plain.payload, other.payload);
  assert.ok(plain.expiresAt instanceof Date, 'an expiry is a Date');
  assert.ok(plain.expiresAt.getTime() > Date.now(), 'in the future');
  assert.notEqual(plain.expiresAt, other.expiresAt, 'each result its own Date');
  note(await m.verifyOtp('login', 'pat', otherThan(plain.secret)));
  note(await m.verifyOtp('login', 'pat', otherThan(plain.secret)));
  note(await m.verifyOtp('login', 'nobody', '123456'));
  const v = note(await m.verifyOtp('login', 'quinn', other.secret));
  assert.equal(v.payload.toString(), 'hi');
  const t = note(await m.issueToken('confirm', 'pat'));
  note(await m.peekToken(t.secret, 'confirm'));
  const a = note(await m.verifyOtp('login', 'nobody', '123456'));
  assert.equal(a.expiresAt, null, 'no code: no expiry');
  const b = note(await m.verifyOtp('login', 'nobody', '123456'));
  assert.notEqual(a.payload, b.payload, 'each result its own empty Buffer');
  a.payload.mark = 1;
  assert.equal(b.payload.mark, undefined);
  assert.deepEqual([...seen.keys()].sort(),
    ['attempts_exhausted', 'invalid', 'issued', 'not_found', 'valid', 'verified']);
});

// A Promise settles even when making its answer throws (here the result factory, swapped in a
// child process): it is rejected with that exception, never left pending; operations whose
// answer is not a result object still resolve, and the engine goes on working.
test('a Promise whose answer cannot be made is rejected with why, on both stores', async () => {
  const redis = await startRedis();
  try {
    const child = `
      const verikit = require(${JSON.stringify(PKG)});
      const native = require(${JSON.stringify(PKG)} + '/bindings/node/addon').load();
      const settled = (p) => Promise.race([p.then((v) => typeof v === 'object' ? v.status : v, (e) => 'rejected: ' + e.message),
        new Promise((r) => setTimeout(() => r('did not settle'), 5000))]);
      (async () => {
        const out = {};
        for (const [name, store] of [['memory', 'memory://'], ['redis', process.argv[1]]]) {
          const m = new verikit.Manager({ url: store, key: Buffer.alloc(32, 3), keyPrefix: 'factory', abuseControls: false });
          native.setResultFactory(() => { throw new Error('no answer'); });
          out[name] = [await settled(m.issueOtp('login', 'ann')), await settled(m.verifyOtp('login', 'ann', '123456')),
            await settled(m.revokeOtp('login', 'ann')), await settled(m.revokeOtp('login', 'ann'))];
          m.close();
        }
        console.log(JSON.stringify(out));
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', child, redis.url], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const store of ['memory', 'redis']) {
      // the issue stored its code (only its answer failed), so the first revoke finds it
      assert.deepEqual(out[store], ['rejected: no answer', 'rejected: no answer', true, false], store);
    }
  } finally {
    await redis.stop();
  }
});
