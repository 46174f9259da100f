'use strict';
// verikit/compat on the embedded store: redis-otp-manager 1.6.1's API, its errors, helpers,
// hooks and adapters, and the introduction's positional RedisOtpManager.
const test = require('node:test');
const assert = require('node:assert/strict');
const { compat, flushHooks, email } = require('./compat_helpers');

const {
  OTPManager, MemoryAdapter, RedisOtpManager, OTPError,
} = compat;

const ERRORS = {
  OTPRateLimitExceededError: 'OTP_RATE_LIMIT_EXCEEDED',
  OTPExpiredError: 'OTP_EXPIRED',
  OTPInvalidError: 'OTP_INVALID',
  OTPMaxAttemptsExceededError: 'OTP_MAX_ATTEMPTS_EXCEEDED',
  OTPResendCooldownError: 'OTP_RESEND_COOLDOWN',
  OTPLockedError: 'OTP_LOCKED',
  VerificationSecretExpiredError: 'VERIFICATION_SECRET_EXPIRED',
  VerificationSecretInvalidError: 'VERIFICATION_SECRET_INVALID',
  VerificationSecretAlreadyUsedError: 'VERIFICATION_SECRET_ALREADY_USED',
};

const manager = (options = {}) => new OTPManager({ store: new MemoryAdapter(), ttl: 60, maxAttempts: 3, devMode: true, ...options });

// Rejects with exactly this class (by name: instanceof alone would accept a subclass).
async function rejectsWith(promise, name) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof compat[name], `${e?.name}: ${e?.message}`);
    assert.equal(e.name, name);
    assert.equal(e.code, ERRORS[name]);
    assert.ok(e instanceof OTPError);
    return true;
  });
}

test('every error class: name, code, default message, OTPError base', () => {
  for (const [name, code] of Object.entries(ERRORS)) {
    const e = new compat[name]();
    assert.ok(e instanceof Error && e instanceof OTPError, name);
    assert.equal(e.name, name);
    assert.equal(e.code, code);
    assert.ok(e.message.length > 0);
    assert.equal(new compat[name]('custom').message, 'custom');
  }
  assert.equal(new OTPError('m', 'C').code, 'C');
});

test('generate resolves { expiresIn, otp } (otp only in devMode); verify resolves true once', async () => {
  const m = manager();
  const g = await m.generate(email());
  assert.equal(g.expiresIn, 60);
  assert.match(g.otp, /^\d{6}$/);
  assert.equal(await m.verify({ ...email(), otp: g.otp }), true);
  await rejectsWith(m.verify({ ...email(), otp: g.otp }), 'OTPExpiredError');
  const quiet = manager({ devMode: false, otpLength: 8 });
  const hidden = await quiet.generate(email());
  assert.deepEqual(Object.keys(hidden).sort(), ['expiresIn', 'otp']);
  assert.equal(hidden.otp, undefined);
});

test('no refusal resolves: wrong, exhausted, expired, unknown and malformed codes all throw', async () => {
  const m = manager();
  const g = await m.generate(email());
  const wrong = g.otp === '000000' ? '111111' : '000000';
  await rejectsWith(m.verify({ ...email(), otp: wrong }), 'OTPInvalidError');
  await rejectsWith(m.verify({ ...email(), otp: '12345' }), 'OTPInvalidError');  // cannot be right: no attempt spent
  await rejectsWith(m.verify({ ...email(), otp: 'abcdef' }), 'OTPInvalidError');
  await rejectsWith(m.verify({ ...email(), otp: wrong }), 'OTPInvalidError');
  await rejectsWith(m.verify({ ...email(), otp: wrong }), 'OTPMaxAttemptsExceededError');
  await rejectsWith(m.verify({ ...email(), otp: g.otp }), 'OTPExpiredError');  // the code died with the third guess
  await rejectsWith(m.verify({ ...email('login', 'nobody@example.com'), otp: '123456' }), 'OTPExpiredError');
  await assert.rejects(m.verify({ ...email(), otp: '' }), TypeError);
  await assert.rejects(m.generate({ type: '', identifier: 'x' }), TypeError);
  await assert.rejects(m.generate({ type: 'email', identifier: '  ' }), TypeError);
});

test('rate limit, cooldown and their scopes', async () => {
  const limited = manager({ rateLimit: { window: 60, max: 2 } });
  await limited.generate(email());
  await limited.generate(email('signup'));  // default scope: the channel, across intents
  await rejectsWith(limited.generate(email('reset')), 'OTPRateLimitExceededError');
  await limited.generate(email('login', 'other@example.com'));

  const perIntent = manager({ rateLimit: { window: 60, max: 1, scope: 'intent_channel' } });
  await perIntent.generate(email());
  await perIntent.generate(email('signup'));
  await rejectsWith(perIntent.generate(email()), 'OTPRateLimitExceededError');

  const cooled = manager({ resendCooldown: 60 });
  await cooled.generate(email());
  await rejectsWith(cooled.generate(email()), 'OTPResendCooldownError');
  await cooled.generate(email('signup'));  // resendCooldown: intent + channel
  const wide = manager({ resendCooldown: 60, cooldown: { seconds: 30, scope: 'identifier' } });
  await wide.generate(email());
  await rejectsWith(wide.generate({ type: 'sms', identifier: 'user@example.com', intent: 'signup' }), 'OTPResendCooldownError');
  // tokens have their own gates
  await wide.generateToken(email());
  await rejectsWith(wide.generateToken(email()), 'OTPResendCooldownError');
});

test('cooldown is checked before the rate limit (a refused resend spends no send)', async () => {
  const m = manager({ resendCooldown: 60, rateLimit: { window: 60, max: 2 } });
  await m.generate(email());
  await rejectsWith(m.generate(email()), 'OTPResendCooldownError');
  await m.generate(email('signup'));  // the second send of the channel (the refused one did not count)
  await rejectsWith(m.generate(email('reset')), 'OTPRateLimitExceededError');
});

test('lockout: locked at afterAttempts, for generate and verify, and at a wider scope', async () => {
  const m = manager({ maxAttempts: 5, lockout: { seconds: 60, afterAttempts: 2 } });
  const g = await m.generate(email());
  const wrong = g.otp === '000000' ? '111111' : '000000';
  await rejectsWith(m.verify({ ...email(), otp: wrong }), 'OTPInvalidError');
  await rejectsWith(m.verify({ ...email(), otp: wrong }), 'OTPLockedError');
  await rejectsWith(m.verify({ ...email(), otp: g.otp }), 'OTPLockedError');  // not even compared
  await rejectsWith(m.generate(email()), 'OTPLockedError');
  await m.generate(email('signup'));  // default scope: intent + channel

  const verifyOnly = manager({ lockout: { seconds: 60, afterAttempts: 1, appliesTo: 'verify' } });
  await verifyOnly.generate(email());
  await rejectsWith(verifyOnly.verify({ ...email(), otp: wrong }), 'OTPLockedError');
  await verifyOnly.generate(email());

  const wide = manager({ lockout: { seconds: 60, afterAttempts: 1, scope: 'identifier' } });
  await wide.generate(email());
  await rejectsWith(wide.verify({ ...email(), otp: wrong }), 'OTPLockedError');
  await rejectsWith(wide.generate({ type: 'sms', identifier: 'user@example.com', intent: 'signup' }), 'OTPLockedError');
  await rejectsWith(wide.verify({ type: 'sms', identifier: 'user@example.com', intent: 'signup', otp: '123456' }), 'OTPLockedError');
  await wide.generate(email('login', 'other@example.com'));
});

test("verikit's failure budget stays on across re-issued codes", async () => {
  const m = manager({ maxAttempts: 100 });
  let locked = 0;
  for (let i = 0; i < 12; i += 1) {
    const g = await m.generate(email()).catch((e) => e);
    if (g instanceof compat.OTPLockedError) { locked += 1; continue; }
    const wrong = g.otp === '000000' ? '111111' : '000000';
    await m.verify({ ...email(), otp: wrong }).catch((e) => { if (e instanceof compat.OTPLockedError) locked += 1; });
  }
  assert.ok(locked >= 2, 'the default budget (a burst of 10) locks the identifier');
});

test('identifiers: trimmed and lower-cased, except the preserveCaseFor channels; options', async () => {
  const m = manager();
  const g = await m.generate(email('login', ' User@Example.COM '));
  assert.equal(await m.verify({ ...email('login', 'user@example.com'), otp: g.otp }), true);
  const t = await m.generate({ type: 'token', identifier: 'CaseSensitive', intent: 'invite' });
  await rejectsWith(m.verify({ type: 'token', identifier: 'casesensitive', intent: 'invite', otp: t.otp }), 'OTPExpiredError');
  assert.equal(await m.verify({ type: 'token', identifier: 'CaseSensitive', intent: 'invite', otp: t.otp }), true);
  const exact = manager({ identifierNormalization: { trim: false, lowercase: false } });
  const e = await exact.generate(email('login', 'A@b.c '));
  await rejectsWith(exact.verify({ ...email('login', 'a@b.c'), otp: e.otp }), 'OTPExpiredError');
  assert.equal(await exact.verify({ ...email('login', 'A@b.c '), otp: e.otp }), true);
  // intent and type are part of the record: another intent or channel is another code
  const o = await m.generate(email());
  await rejectsWith(m.verify({ ...email('signup'), otp: o.otp }), 'OTPExpiredError');
  await rejectsWith(m.verify({ type: 'sms', identifier: 'user@example.com', intent: 'login', otp: o.otp }), 'OTPExpiredError');
  assert.equal(await m.verify({ ...email(), otp: o.otp }), true);
});

test('tokens: verifyToken true once; invalid vs expired; bound to intent, type and identifier; a new token replaces the old', async () => {
  const m = manager();
  const g = await m.generateToken(email('verify-email'));
  assert.equal(typeof g.token, 'string');
  assert.ok(g.token.length >= 32);
  await rejectsWith(m.verifyToken({ ...email('verify-email'), token: 'wrong-token' }), 'VerificationSecretInvalidError');
  await rejectsWith(m.verifyToken({ ...email('other'), token: g.token }), 'VerificationSecretExpiredError');
  await rejectsWith(m.verifyToken({ ...email('verify-email', 'else@example.com'), token: g.token }), 'VerificationSecretExpiredError');
  const other = await m.generateToken(email('verify-email', 'else@example.com'));
  await rejectsWith(m.verifyToken({ ...email('verify-email', 'else@example.com'), token: g.token }), 'VerificationSecretInvalidError');
  assert.equal(await m.verifyToken({ ...email('verify-email'), token: g.token }), true);  // still usable
  await rejectsWith(m.verifyToken({ ...email('verify-email'), token: g.token }), 'VerificationSecretExpiredError');
  const second = await m.generateToken(email('verify-email', 'else@example.com'));
  await rejectsWith(m.verifyToken({ ...email('verify-email', 'else@example.com'), token: other.token }), 'VerificationSecretInvalidError');
  assert.equal(await m.verifyToken({ ...email('verify-email', 'else@example.com'), token: second.token }), true);
  await assert.rejects(m.verifyToken({ ...email(), token: '' }), TypeError);
  // the OTP and token flows of one identifier are separate
  const code = await m.generate(email());
  const token = await m.generateToken(email());
  assert.equal(await m.verify({ ...email(), otp: code.otp }), true);
  assert.equal(await m.verifyToken({ ...email(), token: token.token }), true);
});

test('replayProtection: a used token (and its scope) answers VerificationSecretAlreadyUsedError', async () => {
  const m = manager({ replayProtection: { enabled: true, ttl: 120 } });
  const g = await m.generateToken(email('verify-email'));
  assert.equal(await m.verifyToken({ ...email('verify-email'), token: g.token }), true);
  await rejectsWith(m.verifyToken({ ...email('verify-email'), token: g.token }), 'VerificationSecretAlreadyUsedError');
  await rejectsWith(m.verifyToken({ ...email('verify-email', 'other@example.com'), token: g.token }), 'VerificationSecretExpiredError');
  const off = manager({ replayProtection: { enabled: false, ttl: 120 } });
  const t = await off.generateToken(email());
  assert.equal(await off.verifyToken({ ...email(), token: t.token }), true);
  await rejectsWith(off.verifyToken({ ...email(), token: t.token }), 'VerificationSecretExpiredError');
});

test('hooks: each event with its payload, after the operation; onHookError; throwOnError; auditAdapter', async () => {
  const events = [];
  const hook = (name) => (payload) => { events.push([name, payload]); };
  const audit = [];
  const m = manager({
    maxAttempts: 2,
    resendCooldown: 60,
    rateLimit: { window: 60, max: 2, scope: 'identifier' },
    hooks: {
      onGenerated: hook('generated'), onVerified: hook('verified'), onFailed: hook('failed'), onLocked: hook('locked'),
      onRateLimited: hook('rate_limited'), onCooldownBlocked: hook('cooldown_blocked'),
    },
    auditAdapter: { record: (event) => { audit.push(event); } },
  });
  const meta = { requestId: 'r1' };
  const g = await m.generate({ ...email('login', ' User@Example.com '), metadata: meta });
  await flushHooks();
  const [name, generated] = events.shift();
  assert.equal(name, 'generated');
  assert.deepEqual(Object.keys(generated).sort(),
    ['credentialKind', 'devMode', 'expiresIn', 'identifier', 'intent', 'metadata', 'normalizedIdentifier', 'timestamp', 'type']);
  assert.equal(generated.identifier, ' User@Example.com ');
  assert.equal(generated.normalizedIdentifier, 'user@example.com');
  assert.equal(generated.credentialKind, 'otp');
  assert.equal(generated.expiresIn, 60);
  assert.deepEqual(generated.metadata, meta);
  assert.ok(!Number.isNaN(Date.parse(generated.timestamp)));
  await rejectsWith(m.generate(email()), 'OTPResendCooldownError');
  await rejectsWith(m.verify({ ...email(), otp: g.otp === '000000' ? '111111' : '000000' }), 'OTPInvalidError');
  await rejectsWith(m.verify({ ...email(), otp: g.otp === '000000' ? '111111' : '000000' }), 'OTPMaxAttemptsExceededError');
  await m.generate(email('signup'));
  await rejectsWith(m.generate(email('reset')), 'OTPRateLimitExceededError');
  const t = await m.generateToken(email('verify'));
  await m.verifyToken({ ...email('verify'), token: t.token });
  await flushHooks();
  assert.deepEqual(events.map(([n, p]) => `${n}:${p.credentialKind}`), [
    'cooldown_blocked:otp', 'failed:otp', 'locked:otp', 'generated:otp', 'rate_limited:otp', 'generated:token', 'verified:token']);
  const by = (n) => events.find(([k]) => k === n)[1];
  assert.equal(by('cooldown_blocked').resendCooldown, 60);
  assert.equal(by('cooldown_blocked').scope, 'intent_channel');
  assert.equal(by('failed').reason, 'invalid');
  assert.equal(by('failed').attemptsUsed, 1);
  assert.equal(by('failed').attemptsRemaining, 1);
  assert.equal(by('locked').maxAttempts, 2);
  assert.equal(by('locked').operation, 'verify');
  assert.deepEqual([by('rate_limited').window, by('rate_limited').max, by('rate_limited').scope, by('rate_limited').algorithm],
    [60, 2, 'identifier', 'fixed_window']);
  assert.deepEqual(audit.map((a) => a.event), ['generated', ...events.map(([n]) => n)]);
  assert.equal(audit[0].payload, generated);

  const errors = [];
  const failing = manager({ hooks: { onGenerated: () => { throw new Error('hook exploded'); }, onHookError: (e, ctx) => { errors.push([e.message, ctx.event]); } } });
  const ok = await failing.generate(email());
  assert.match(ok.otp, /^\d{6}$/);
  await flushHooks();
  assert.deepEqual(errors, [['hook exploded', 'generated']]);
  // a hook that never settles does not hold the operation (it runs in a microtask of its own)
  const stuck = manager({ hooks: { onGenerated: () => new Promise(() => {}) } });
  assert.match((await stuck.generate(email())).otp, /^\d{6}$/);
  const blocking = manager({ hooks: { throwOnError: true, onVerified: async () => { throw new Error('blocking'); } } });
  const b = await blocking.generate(email());
  await assert.rejects(blocking.verify({ ...email(), otp: b.otp }), /blocking/);
});

test('generateAndSend and generateTokenAndSend hand the secret to the deliveryAdapter', async () => {
  const sent = [];
  const m = manager({ devMode: false, deliveryAdapter: { send: async (payload) => { sent.push(payload); } } });
  const g = await m.generateAndSend({ ...email('login', 'User@Example.com'), metadata: { a: 1 } });
  assert.equal(g.otp, undefined);
  assert.deepEqual({ ...sent[0], otp: undefined }, {
    credentialKind: 'otp', type: 'email', identifier: 'user@example.com', intent: 'login', otp: undefined, expiresIn: 60, metadata: { a: 1 },
  });
  assert.equal(await m.verify({ ...email(), otp: sent[0].otp }), true);
  await m.generateTokenAndSend(email('verify'), { baseUrl: 'https://app.example.com/v', extraParams: { campaign: 'w' } });
  const link = new URL(sent[1].link);
  assert.equal(link.searchParams.get('token'), sent[1].token);
  assert.equal(link.searchParams.get('identifier'), 'user@example.com');
  assert.equal(link.searchParams.get('campaign'), 'w');
  assert.equal(await m.verifyToken({ ...email('verify'), token: link.searchParams.get('token') }), true);
  await m.generateTokenAndSend(email('plain'));
  assert.equal(sent[2].link, undefined);
  assert.equal(sent[2].credentialKind, 'token');
  await assert.rejects(manager().generateAndSend(email()), /deliveryAdapter is required/);
});

test('helpers: links, delivery payloads, outcomes and classification', () => {
  const link = new URL(compat.buildVerificationLink({
    baseUrl: 'https://app.example.com/v?x=1', token: 't', identifier: 'a@b.c', intent: 'i', type: 'email',
    paramNames: { token: 'code' }, extraParams: { r: true, skip: undefined, none: null },
  }));
  assert.deepEqual([...link.searchParams], [['x', '1'], ['code', 't'], ['identifier', 'a@b.c'], ['intent', 'i'], ['type', 'email'], ['r', 'true']]);
  assert.throws(() => compat.buildVerificationLink({ baseUrl: '', token: 't', identifier: 'i' }), /baseUrl is required/);
  assert.throws(() => compat.buildVerificationLink({ baseUrl: 'https://a.b', token: ' ', identifier: 'i' }), /token is required/);
  assert.throws(() => compat.buildVerificationLink({ baseUrl: 'https://a.b', token: 't', identifier: '' }), /identifier is required/);
  assert.deepEqual(compat.buildOtpDeliveryPayload({ type: 'sms', identifier: '+1', intent: 'l', otp: '1', expiresIn: 5 }),
    { credentialKind: 'otp', type: 'sms', identifier: '+1', intent: 'l', otp: '1', expiresIn: 5, metadata: undefined });
  const tp = compat.buildTokenDeliveryPayload({ baseUrl: 'https://a.b/r', token: 't', identifier: 'i', expiresIn: 9 });
  assert.equal(tp.type, 'token');
  assert.equal(tp.link, 'https://a.b/r?token=t&identifier=i');
  for (const [name, kind, retryable] of [
    ['VerificationSecretAlreadyUsedError', 'already_used', false], ['VerificationSecretExpiredError', 'expired', false],
    ['OTPExpiredError', 'expired', false], ['VerificationSecretInvalidError', 'invalid', true], ['OTPInvalidError', 'invalid', true],
    ['OTPLockedError', 'locked', true], ['OTPRateLimitExceededError', 'rate_limited', true],
    ['OTPMaxAttemptsExceededError', 'max_attempts', false], ['OTPResendCooldownError', 'cooldown_blocked', true]]) {
    assert.deepEqual(compat.classifyVerificationError(new compat[name]()), { kind, code: ERRORS[name], errorName: name, retryable });
    assert.equal(compat.getVerificationOutcome({ error: new compat[name]() }), kind);
  }
  assert.deepEqual(compat.classifyVerificationError(Object.assign(new Error('x'), { code: 'E' })),
    { kind: 'unknown', code: 'E', errorName: 'Error', retryable: false });
  assert.deepEqual(compat.classifyVerificationError(undefined), { kind: 'unknown', code: undefined, errorName: undefined, retryable: false });
  assert.equal(compat.getVerificationOutcome({ verified: true }), 'verified');
  assert.equal(compat.getVerificationOutcome({}), 'unknown');
  assert.equal(compat.buildVerificationResultLink({ baseUrl: 'https://a.b/r', outcome: 'expired', code: 'OTP_EXPIRED', extraParams: { n: 1 } }),
    'https://a.b/r?outcome=expired&code=OTP_EXPIRED&n=1');
  assert.equal(compat.buildVerificationResultLink({ baseUrl: 'https://a.b/r', outcome: 'verified', paramNames: { outcome: 's' } }),
    'https://a.b/r?s=verified');
  assert.throws(() => compat.buildVerificationResultLink({ baseUrl: ' ', outcome: 'verified' }), TypeError);
});

test('options are checked as the package checks them, plus verikit ranges', () => {
  const base = { store: new MemoryAdapter(), ttl: 30, maxAttempts: 3 };
  const refused = [
    [{ store: {} }, /store.get must be a function/],
    [{ ttl: 0 }, /ttl must be a positive integer/],
    [{ maxAttempts: 1.5 }, /maxAttempts must be a positive integer/],
    [{ lockout: { seconds: 5, afterAttempts: 4 } }, /afterAttempts cannot be greater than maxAttempts/],
    [{ rateLimit: { window: 60, max: 1, scope: 'planet' } }, /rateLimit.scope/],
    [{ rateLimit: { window: 60, max: 1, algorithm: 'sliding_window' } }, /Sliding-window rate limiting currently requires RedisAdapter/],
    [{ hashing: { secret: 's', previousSecrets: ['s'] } }, /must not include hashing.secret/],
    [{ hashing: { secret: ' ' } }, /hashing.secret must be a non-empty string/],
    [{ hooks: { onVerified: 'no' } }, /All hooks must be functions/],
    [{ auditAdapter: {} }, /auditAdapter.record must be a function/],
    [{ deliveryAdapter: {} }, /deliveryAdapter.send must be a function/],
    [{ replayProtection: { enabled: 'yes', ttl: 5 } }, /replayProtection.enabled must be a boolean/],
    [{ identifierNormalization: { preserveCaseFor: [''] } }, /preserveCaseFor/],
    [{ otpLength: 3 }, /otpLength must be 4 to 10/],
    [{ maxAttempts: 101 }, /at most 100/],
    [{ store: { get() {}, set() {}, del() {}, increment() {} } }, /MemoryAdapter or RedisAdapter/],
  ];
  for (const [change, message] of refused) assert.throws(() => new OTPManager({ ...base, ...change }), message);
  assert.ok(new OTPManager({ ...base, lockout: { seconds: 5, afterAttempts: 3 }, cooldown: { seconds: 1 } }));
});

test('MemoryAdapter: one store for the OTPManagers sharing it (a rotated secret still verifies); key-value methods', async () => {
  const store = new MemoryAdapter();
  const before = new OTPManager({ store, ttl: 30, maxAttempts: 3, devMode: true, hashing: { secret: 'old' } });
  const g = await before.generate(email());
  const after = new OTPManager({ store, ttl: 30, maxAttempts: 3, hashing: { secret: 'new', previousSecrets: ['old'] } });
  assert.equal(await after.verify({ ...email(), otp: g.otp }), true);
  const separate = new OTPManager({ store: new MemoryAdapter(), ttl: 30, maxAttempts: 3 });
  const h = await before.generate(email('other'));
  await rejectsWith(separate.verify({ ...email('other'), otp: h.otp }), 'OTPExpiredError');
  assert.equal(await store.get('k'), null);
  await store.set('k', 'v', 60);
  assert.equal(await store.get('k'), 'v');
  assert.equal(await store.increment('n', 60), 1);
  assert.equal(await store.increment('n', 60), 2);
  await store.del('k');
  assert.equal(await store.get('k'), null);
  store.close();
  await assert.rejects(after.generate(email('third')), /closed/);
});

test('RedisOtpManager (positional form): strings in, strings and booleans out, never true for a refusal', async () => {
  const otp = new RedisOtpManager(null, { baseUrl: 'https://app.example.com/magic' });
  try {
    const code = await otp.generate('alice@example.com');
    assert.equal(typeof code, 'string');
    assert.match(code, /^\d{6}$/);
    const wrong = code === '000000' ? '111111' : '000000';
    assert.equal(await otp.verify('alice@example.com', wrong), false);
    assert.equal(await otp.verify('alice@example.com', '12'), false);
    assert.equal(await otp.verify('alice@example.com', ''), false);
    assert.equal(await otp.verify('bob@example.com', code), false);
    assert.equal(await otp.verify(' Alice@Example.com', code), true);
    assert.equal(await otp.verify('alice@example.com', code), false);
    await assert.rejects(otp.verify('alice@example.com', 123456), TypeError);

    const token = await otp.generateToken('alice@example.com');
    assert.equal(typeof token, 'string');
    assert.equal(await otp.verifyToken('bob@example.com', token), false);
    assert.equal(await otp.verifyToken('alice@example.com', 'nonsense'), false);
    assert.equal(await otp.verifyToken('alice@example.com', token), true);
    assert.equal(await otp.verifyToken('alice@example.com', token), false);

    const link = await otp.generateLink('alice@example.com');
    const url = new URL(link.url);
    assert.equal(url.origin + url.pathname, 'https://app.example.com/magic');
    assert.equal(url.searchParams.get('token'), link.token);
    assert.equal(url.searchParams.get('identifier'), 'alice@example.com');
    const other = await otp.generateLink('carol@example.com', { baseUrl: 'https://other.example.com/in', extraParams: { next: '/home' } });
    assert.match(other.url, /^https:\/\/other\.example\.com\/in\?token=.+&identifier=carol%40example\.com&next=%2Fhome$/);
    assert.equal(await otp.verifyToken('carol@example.com', other.token), true);
    assert.equal(await otp.verifyToken('alice@example.com', link.token), true);
    await assert.rejects(new RedisOtpManager().generateLink('a@b.c'), /base URL/);

    // locked and exhausted are false too
    const strict = new RedisOtpManager(undefined, { maxAttempts: 2, lockout: { seconds: 60, afterAttempts: 2 } });
    const c = await strict.generate('dave@example.com');
    const w = c === '000000' ? '111111' : '000000';
    assert.equal(await strict.verify('dave@example.com', w), false);
    assert.equal(await strict.verify('dave@example.com', w), false);
    assert.equal(await strict.verify('dave@example.com', c), false);
    await assert.rejects(strict.generate('dave@example.com'), compat.OTPLockedError);
    strict.close();
  } finally {
    otp.close();
  }
});

// Found by an adversarial review (the package's behaviour, checked against its source):
test('a malformed token is a typed refusal; intent null is the default; options given as undefined', async () => {
  const m = manager();
  const t = await m.generateToken(email());
  const lone = ['\ud800abc', 'abc\udc00', t.token.slice(0, 10) + '\ude00\ud83d'];  // (lone surrogates: no UTF-8 form)
  for (const bad of ['x'.repeat(600), 'abc\0def', ...lone]) {
    await rejectsWith(m.verifyToken({ ...email(), token: bad }), 'VerificationSecretInvalidError');
  }
  await rejectsWith(manager().verifyToken({ ...email(), token: 'x'.repeat(600) }), 'VerificationSecretExpiredError');
  await rejectsWith(manager().verifyToken({ ...email(), token: '\ud800abc' }), 'VerificationSecretExpiredError');
  assert.equal(await m.verifyToken({ ...email(), token: t.token }), true);
  const positional = new RedisOtpManager(null, { baseUrl: 'https://app.example.com/magic' });
  try {
    assert.equal(await positional.verifyToken('user@example.com', 'y'.repeat(700)), false);
    for (const bad of lone) assert.equal(await positional.verifyToken('user@example.com', bad), false);
  } finally {
    positional.close?.();
  }

  const n = manager();
  const g = await n.generate({ ...email(), intent: null });
  assert.equal(await n.verify({ ...email(), intent: undefined, otp: g.otp }), true);
  const numbered = await n.generate({ ...email(), intent: 42 });
  assert.equal(await n.verify({ ...email(), intent: '42', otp: numbered.otp }), true);
  await assert.rejects(n.generate({ ...email(), intent: {} }), TypeError);

  const keepCase = manager({ identifierNormalization: { lowercase: undefined } });
  const kc = await keepCase.generate({ type: 'email', identifier: 'User@Example.com' });
  await rejectsWith(keepCase.verify({ type: 'email', identifier: 'user@example.com', otp: kc.otp }), 'OTPExpiredError');
  assert.equal(await keepCase.verify({ type: 'email', identifier: 'User@Example.com', otp: kc.otp }), true);
});
