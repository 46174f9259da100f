'use strict';
// verikit/compat on a real redis-server of the suite's own, through a node-redis v5 client:
// RedisAdapter reads the client's settings, the flows are atomic there, TTLs are the store's,
// keys rotate across processes, and a store fault is an error, never true.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startRedis, verikit } = require('./helpers');
const { compat, fromProject, email } = require('./compat_helpers');

const { createClient } = fromProject('redis');
const { OTPManager, RedisAdapter, RedisOtpManager } = compat;

let redis;
let client;
const adapters = [];
let prefixes = 0;

test.before(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  await client.connect();
});
test.after(async () => {
  adapters.forEach((a) => a.close());
  await client.quit();
  await redis.stop();
});

// An adapter with a key prefix of its own (so tests can list their keys).
function adapter(c = client) {
  const a = new RedisAdapter(c, { keyPrefix: `cx${++prefixes}` });
  adapters.push(a);
  return a;
}
const manager = (options = {}, store = adapter()) =>
  new OTPManager({ store, ttl: 60, maxAttempts: 3, devMode: true, hashing: { secret: 'integration-secret' }, ...options });
const wrongFor = (code) => (code === '000000' ? '111111' : '000000');

test('RedisAdapter reads the node-redis client settings (verikit connects by itself)', async () => {
  assert.equal(new RedisAdapter(client).url, redis.url);
  const port = Number(new URL(redis.url).port);
  const socketForm = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 700 }, database: 3 });
  assert.equal(new RedisAdapter(socketForm).url, `redis://127.0.0.1:${port}/3?connect_timeout_ms=700`);
  assert.equal(new RedisAdapter(createClient({ url: 'rediss://redis.internal:6380/2', username: 'app', password: 'p@ss/w' })).url,
    'rediss://app:p%40ss%2Fw@redis.internal:6380/2');
  assert.equal(new RedisAdapter(createClient({ socket: { path: '/run/redis.sock' }, database: 1 })).url, 'unix:///run/redis.sock?db=1');
  assert.equal(new RedisAdapter(createClient()).url, 'redis://localhost:6379');
  assert.equal(new RedisAdapter(client, { url: 'redis://10.0.0.1:7000' }).url, 'redis://10.0.0.1:7000');
  assert.throws(() => new RedisAdapter(createClient({ socket: { tls: true, ca: 'PEM' } })), /socket\.ca/);
  // a cluster client has no one server's settings (and verikit has no Cluster routing yet): refused
  assert.throws(() => new RedisAdapter(fromProject('redis').createCluster({ rootNodes: [{ url: redis.url }] })),
    /node-redis v4\/v5 client/);
  const imitation = { get: async () => null, set: async () => {}, del: async () => {}, incr: async () => 1, expire: async () => {} };
  assert.throws(() => new RedisAdapter(imitation), /node-redis v4\/v5 client/);
  assert.throws(() => new OTPManager({ store: adapter(), ttl: 60, maxAttempts: 3 }), /hashing.secret is required with RedisAdapter/);

  // the flows run on the database the client names; the client itself is not used by them
  await socketForm.connect();
  try {
    const m = manager({}, adapter(socketForm));
    const g = await m.generate(email());
    assert.ok(await socketForm.dbSize() > 0);
    assert.equal(await m.verify({ ...email(), otp: g.otp }), true);
  } finally {
    await socketForm.quit();
  }
  const kv = adapter();
  await kv.set('cx:kv', 'v', 60);
  assert.equal(await client.get('cx:kv'), 'v');
  assert.equal(await kv.get('cx:kv'), 'v');
  assert.equal(await kv.increment('cx:n', 60), 1);
  assert.equal(await kv.increment('cx:n', 60), 2);
  assert.ok((await client.ttl('cx:n')) > 0);
  await kv.del('cx:kv');
  assert.equal(await kv.get('cx:kv'), null);
});

test('the flows on Redis: every error class that applies, atomically under concurrency', async () => {
  const m = manager();
  const g = await m.generate(email());
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => m.verify({ ...email(), otp: g.otp })));
  assert.equal(results.filter((r) => r.status === 'fulfilled' && r.value === true).length, 1);
  assert.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof compat.OTPExpiredError));

  const again = await m.generate(email('second'));
  const wrong = wrongFor(again.otp);
  const guesses = await Promise.allSettled(Array.from({ length: 6 }, () => m.verify({ ...email('second'), otp: wrong })));
  const names = guesses.map((r) => r.reason.name).sort();
  assert.deepEqual(names, ['OTPExpiredError', 'OTPExpiredError', 'OTPExpiredError', 'OTPInvalidError', 'OTPInvalidError',
    'OTPMaxAttemptsExceededError'], 'exactly maxAttempts guesses are compared');

  const burst = manager({ rateLimit: { window: 10, max: 1, scope: 'intent_channel' } });
  const sends = await Promise.allSettled(Array.from({ length: 3 }, () => burst.generate(email('burst'))));
  assert.equal(sends.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(sends.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof compat.OTPRateLimitExceededError));
  const sliding = manager({ rateLimit: { window: 10, max: 1, algorithm: 'sliding_window' }, resendCooldown: 30 });
  await sliding.generate(email('sliding'));
  await assert.rejects(sliding.generate(email('sliding')), compat.OTPResendCooldownError);
  await assert.rejects(sliding.generate(email('sliding-2')), compat.OTPRateLimitExceededError);

  const locking = manager({ lockout: { seconds: 60, afterAttempts: 1 } });
  const l = await locking.generate(email('lock'));
  await assert.rejects(locking.verify({ ...email('lock'), otp: wrongFor(l.otp) }), compat.OTPLockedError);
  await assert.rejects(locking.generate(email('lock')), compat.OTPLockedError);

  const tokens = manager({ replayProtection: { enabled: true, ttl: 120 } });
  const t = await tokens.generateToken(email('verify-email'));
  await assert.rejects(tokens.verifyToken({ ...email('verify-email'), token: 'wrong' }), compat.VerificationSecretInvalidError);
  const used = await Promise.allSettled(Array.from({ length: 4 }, () => tokens.verifyToken({ ...email('verify-email'), token: t.token })));
  assert.equal(used.filter((r) => r.status === 'fulfilled' && r.value === true).length, 1);
  await assert.rejects(tokens.verifyToken({ ...email('verify-email'), token: t.token }), compat.VerificationSecretAlreadyUsedError);
  await assert.rejects(tokens.verifyToken({ ...email('none'), token: t.token }), compat.VerificationSecretExpiredError);
});

test("expiry is Redis's own TTL; Redis holds no identifier, code or token in the clear", async () => {
  const store = adapter();
  const m = manager({ ttl: 5 }, store);
  const g = await m.generate(email('login', 'Someone.Private@example.com'));
  const t = await m.generateToken(email('verify', 'someone.private@example.com'));
  const keys = await client.keys(`cx${prefixes}:*`);
  assert.ok(keys.filter((k) => k.endsWith(':g') || k.endsWith(':t')).length >= 2, keys.join(' '));
  for (const key of keys) {
    const ttl = await client.pTTL(key);
    // tokens (:t) live ttl seconds; a group's record (:g) as long as its abuse-control state, and
    // the code in it until its own expiry x, ttl seconds (x: the 8-byte double after the tag, the
    // hash, attempts and flags; the layout is in core/src/store/lua/prelude.lua)
    // (the prefix's key-check record, {key-check}:v, lives 5 years: the tag of the index key, no secret)
    assert.ok(ttl > 0 && (ttl <= 5000 || key.endsWith(':g') || key.endsWith('{key-check}:v')), `${key}: ${ttl}`);
    const expiry = "local s = redis.call('GET', KEYS[1]) " +
      "return string.format('%.0f', struct.unpack('<d', s, string.byte(s, 2) + 5))";
    const x = key.endsWith(':g') ? Number(await client.sendCommand(['EVAL', expiry, '1', key])) : 0;
    assert.ok(x === 0 || x - Date.now() <= 5000, `${key}: the code expires at ${x}`);
    const dump = JSON.stringify(await client.hGetAll(key).catch(() => client.get(key)));
    for (const secret of ['someone', 'private', g.otp, t.token]) {
      assert.ok(!key.toLowerCase().includes(secret.toLowerCase()) && !dump.includes(secret), `${secret} in ${key}`);
    }
  }
  // time passing, as Redis sees it: the keys expire, and the code with them
  for (const key of keys) await client.pExpire(key, 1);
  while ((await client.exists(keys)) > 0) await new Promise((r) => setImmediate(r));
  await assert.rejects(m.verify({ ...email('login', 'someone.private@example.com'), otp: g.otp }), compat.OTPExpiredError);
  await assert.rejects(m.verifyToken({ ...email('verify', 'someone.private@example.com'), token: t.token }),
    compat.VerificationSecretExpiredError);
});

test('keys rotate across processes: previousSecrets verify, the index stays put', async () => {
  const prefix = `cx${++prefixes}`;
  const at = (hashing) => {
    const a = new RedisAdapter(client, { keyPrefix: prefix });  // a process of its own
    adapters.push(a);
    return new OTPManager({ store: a, ttl: 60, maxAttempts: 3, devMode: true, hashing });
  };
  const first = at({ secret: 'secret-a' });
  const a = await first.generate(email('a'));
  const second = at({ secret: 'secret-b', previousSecrets: ['secret-a'] });
  const b = await second.generate(email('b'));
  assert.equal(await second.verify({ ...email('a'), otp: a.otp }), true);
  const third = at({ secret: 'secret-c', previousSecrets: ['secret-b', 'secret-a'] });
  const c = await third.generate(email('c'));
  const retired = at({ secret: 'secret-c', previousSecrets: ['secret-b'], indexSecret: 'secret-a' });
  assert.equal(await retired.verify({ ...email('b'), otp: b.otp }), true);
  assert.equal(await retired.verify({ ...email('c'), otp: c.otp }), true);
  // Another secret on the same prefix would find none of its records: the store's key check
  // refuses its engine (a ConfigError on the first call), never an answer about the code.
  const stranger = at({ secret: 'secret-z' });
  const d = await first.generate(email('d'));
  await assert.rejects(stranger.verify({ ...email('d'), otp: d.otp }), (e) => e.name === 'ConfigError' &&
    e.code === 'VERIKIT_E_CONFIG' && /written with another key/.test(e.message));
  assert.equal(await first.verify({ ...email('d'), otp: d.otp }), true);
  // two secrets whose derived key ids collide are refused, not silently mixed up
  const id = (s) => Buffer.from(crypto.hkdfSync('sha256', s, 'verikit/compat', 'key id', 1))[0];
  let twin = 0;
  while (id(`twin-${twin}`) !== id('secret-a')) twin += 1;
  assert.throws(() => at({ secret: `twin-${twin}`, previousSecrets: ['secret-a'] }), /same verikit key id/);
});

test('RedisOtpManager(client): the positional form on Redis; without a secret it warns', async () => {
  const otp = new RedisOtpManager(client, { secret: 'positional', keyPrefix: `cx${++prefixes}`, baseUrl: 'https://e.com/m' });
  const other = new RedisOtpManager(client, { secret: 'positional', keyPrefix: `cx${prefixes}` });  // another process
  try {
    const code = await otp.generate('alice@example.com');
    assert.equal(await other.verify('alice@example.com', wrongFor(code)), false);
    assert.equal(await other.verify('alice@example.com', code), true);
    const link = await otp.generateLink('alice@example.com');
    assert.equal(await other.verifyToken('alice@example.com', link.token), true);
    assert.equal(await otp.verifyToken('alice@example.com', link.token), false);
  } finally {
    otp.close();
    other.close();
  }
  const warned = new Promise((resolve) => process.once('warning', resolve));
  const bare = new RedisOtpManager(client);
  assert.match((await warned).message, /random key of this process/);
  try {
    const code = await bare.generate('bob@example.com');
    assert.equal(await bare.verify('bob@example.com', code), true);
  } finally {
    bare.close();
  }
  // A restart draws another random key on the same prefix: it starts (no key check for a key
  // that is this process's alone), and the earlier process's codes are not its to verify.
  const restarted = new RedisOtpManager(client);
  try {
    const code = await restarted.generate('bob@example.com');
    assert.equal(await restarted.verify('bob@example.com', code), true);
  } finally {
    restarted.close();
  }
});

test('a store fault rejects with a verikit error: never true, never an OTP refusal', async () => {
  const down = await startRedis();
  const c = createClient({ url: `${down.url}` });
  const store = new RedisAdapter(c, { url: `${down.url}?command_timeout_ms=300&connect_timeout_ms=300` });
  const m = new OTPManager({ store, ttl: 60, maxAttempts: 3, devMode: true, hashing: { secret: 's' } });
  const otp = new RedisOtpManager(store, { secret: 's' });
  try {
    const g = await m.generate(email());
    const t = await m.generateToken(email());
    const code = await otp.generate('x@example.com');
    await down.stop();
    const isFault = (e) => e instanceof verikit.StoreUnavailableError && !(e instanceof compat.OTPError);
    await assert.rejects(m.verify({ ...email(), otp: g.otp }), isFault);
    await assert.rejects(m.verify({ ...email(), otp: wrongFor(g.otp) }), isFault);
    await assert.rejects(m.verifyToken({ ...email(), token: t.token }), isFault);
    await assert.rejects(m.generate(email('new')), isFault);
    await assert.rejects(otp.verify('x@example.com', code), isFault);
    await assert.rejects(otp.verifyToken('x@example.com', t.token), isFault);
  } finally {
    store.close();
  }
});

// While Redis is unreachable, making the engine blocks the event loop for the connect timeout
// (verikit connects synchronously): a failed attempt is remembered, so the calls right after it
// reject at once instead of each blocking again (found by an adversarial review: 4 verifies in
// a row blocked the process 20 s). A server that accepts connections and never answers.
test('an unreachable Redis never blocks the event loop, and a failed opening is remembered', async () => {
  const net = require('node:net');
  const sockets = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const dead = createClient({ url: `redis://127.0.0.1:${silent.address().port}`, socket: { connectTimeout: 400 } });
    const m = manager({}, adapter(dead));
    // Turns of the event loop taken before the first call failed: none if opening the engine
    // (connect, then its handshake waiting for the silent server) had blocked the loop.
    let turns = 0;
    let settled = false;
    const turn = () => { if (!settled) { turns++; setImmediate(turn); } };
    setImmediate(turn);
    let t0 = Date.now();
    const first = m.generate(email()).finally(() => { settled = true; });
    await assert.rejects(first, (e) => e.code === 'VERIKIT_E_STORE_UNAVAILABLE' || e.code === 'VERIKIT_E_TIMEOUT');
    assert.ok(Date.now() - t0 >= 300, 'the first attempt did not wait for the connect timeout: this test proves nothing');
    assert.ok(turns > 0, 'the event loop did not turn while the engine was being opened');
    t0 = Date.now();
    for (let i = 0; i < 5; i++) {
      await assert.rejects(m.verify({ ...email(), otp: '123456' }), (e) => e.code?.startsWith('VERIKIT_E_'));
    }
    assert.ok(Date.now() - t0 < 300, `5 calls after a failed opening took ${Date.now() - t0} ms: each opened again`);
  } finally {
    sockets.forEach((s) => s.destroy());
    silent.close();
  }
});

test('concurrent first calls share one opening of the engine; closing the adapter meanwhile closes it', async () => {
  const a = adapter();
  const m = manager({}, a);
  const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => m.generate({ ...email(), identifier: `first${i}@example.com` })));
  assert.equal(new Set(codes).size, 20);
  const engines = [...a[Object.getOwnPropertySymbols(a).find((s) => s.description === 'verikit.compat.engines')].byConfig.values()];
  assert.equal(engines.length, 1, 'each concurrent first call opened an engine of its own');
  const b = adapter();
  const late = manager({}, b);
  const pending = late.generate(email());
  b.close();  // while the engine is being opened
  await assert.rejects(pending, (e) => /closed/.test(e.message));
});

test('a client configured with top-level host/port/db (not node-redis) is refused, not read as localhost', () => {
  const foreign = { options: { host: '10.0.0.9', port: 6380, db: 2, password: 'secret' } };
  assert.throws(() => new RedisAdapter(foreign), (e) => e instanceof TypeError && /new RedisAdapter\(client, \{ url \}\)/.test(e.message));
});

// The command-line tool on compat's records: supportCommandLine gives the environment, the
// (purpose, identifier) arguments and the flags; inspect sees the live code, revoke revokes it
// (and compat then answers as for an expired code), revoke-all the tokens. Without the settings
// (the default key id, normalisation and prefix) the same command finds nothing.
test('supportCommandLine: the verikit command-line tool acts on compat records', async () => {
  const { spawnSync } = require('node:child_process');
  const project = process.env.VERIKIT_NODE_PROJECT;
  assert.ok(project, 'run through scripts/test_node.sh (the installed package and its bin)');
  const cli = (args, env) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VERIKIT_')));
    return spawnSync('npx', ['--no', '--', 'verikit', ...args], { cwd: project, encoding: 'utf8', env: { ...clean, ...env } });
  };
  const m = manager();
  await m.verify({ ...email('Login', 'Probe@Example.com'), otp: '0' }).catch(() => {});  // (the key-check record: an engine has started)
  const who = { type: 'email', intent: 'Login', identifier: '  Ann.Case@Example.com ' };
  const g = await m.generate(who);
  const t = await m.generateToken({ ...who, type: 'sms' });
  const s = m.supportCommandLine(who);
  assert.deepEqual(Object.keys(s.env).sort(), ['VERIKIT_INDEX_KEY', 'VERIKIT_KEY', 'VERIKIT_STORE']);
  assert.ok(!s.flags.join(' ').includes(s.env.VERIKIT_KEY), 'the key goes in the environment only');
  const seen = cli(['inspect', ...s.otp, ...s.flags, '--json'], s.env);
  assert.equal(seen.status, 0, seen.stderr);
  const report = JSON.parse(seen.stdout);
  assert.equal(report.status, 'valid');
  assert.equal(report.code_attempts_remaining, 3);
  // the default settings find nothing (a key id, normalisation and prefix of their own)
  const plain = cli(['inspect', ...s.otp, '--json'], s.env);
  assert.notEqual(plain.status === 0 && JSON.parse(plain.stdout).status === 'valid', true, plain.stdout + plain.stderr);
  const revoked = cli(['revoke', ...s.otp, ...s.flags], s.env);
  assert.equal(revoked.status, 0, revoked.stdout + revoked.stderr);
  await assert.rejects(m.verify({ ...who, otp: g.otp }), compat.OTPExpiredError);
  const sms = m.supportCommandLine({ ...who, type: 'sms' });
  const all = cli(['revoke-all', ...sms.token, ...sms.flags, '--json'], sms.env);
  assert.equal(all.status, 0, all.stdout + all.stderr);
  assert.equal(JSON.parse(all.stdout).count, 1);
  await assert.rejects(m.verifyToken({ ...who, type: 'sms', token: t.token }), compat.VerificationSecretExpiredError);
  const positional = new RedisOtpManager(client, { secret: 'integration-secret', intent: 'Login', type: 'email', keyPrefix: 'cx-pos' });
  try {
    assert.deepEqual(positional.supportCommandLine('x@y.z').otp, ['otp', JSON.stringify(['Login', 'email', 'x@y.z'])]);
  } finally {
    positional.close?.();
  }
  assert.throws(() => new OTPManager({ store: new compat.MemoryAdapter(), ttl: 60, maxAttempts: 3 }).supportCommandLine(who),
    /MemoryAdapter keeps its records in this process/);
});
