'use strict';
// Revoke, revokeAll, inspect and unlock settle through the engine's own completions, the same
// path as issue and verify: never through the libuv thread pool, and a process with nothing else
// to do stays alive until they settle.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { verikit, eachStore, startRedis, PKG } = require('./helpers');

eachStore(test, 'revoke, revokeAll, inspect and unlock answer as documented', async (make) => {
  const m = make({ policy: { failureLimit: { count: 1, period: 3600, burst: 2 }, resendCooldown: 0, clientFailureLimit: false } });
  assert.equal((await m.inspect('login', 'dora')).status, 'not_found');
  const code = await m.issueOtp('login', 'dora');
  const t1 = await m.issueToken('login', 'dora');
  const t2 = await m.issueToken('login', 'dora');
  const link = await m.issueLink('login', 'dora', 'https://e.com/m');
  const live = await m.inspect('login', 'dora');
  assert.equal(live.status, 'valid');
  assert.equal(live.activeTokens, 3);
  assert.equal(live.attemptsRemaining, 5);
  const wrong = code.secret === '000000' ? '111111' : '000000';
  await m.verifyOtp('login', 'dora', wrong);
  await m.verifyOtp('login', 'dora', wrong);
  const locked = await m.inspect('login', 'dora');
  assert.equal(locked.status, 'locked');
  assert.equal(locked.counters.guessesAvailable, 0);
  assert.ok(locked.counters.lockedUntil instanceof Date);
  assert.equal(await m.unlock('login', 'dora'), true);
  assert.equal(await m.unlock('login', 'dora'), false);
  assert.equal((await m.inspect('login', 'dora')).counters.guessesAvailable, 2);
  assert.equal(await m.revokeToken(t1.secret), true);
  assert.equal(await m.revokeToken(t1.secret), false);
  assert.equal(await m.revokeToken('garbage'), false);
  assert.equal(await m.revokeLink(link.secret), true);
  assert.equal(await m.revokeLink(link.secret), false);
  assert.equal(await m.revokeOtp('login', 'dora'), true);
  assert.equal(await m.revokeOtp('login', 'dora'), false);
  assert.equal(await m.revokeAll('login', 'dora'), 1);  // t2
  assert.equal(await m.revokeAll('login', 'dora'), 0);
  assert.equal((await m.consumeToken(t2.secret, 'login')).status, 'not_found');
  // Bad arguments reject, through the same path.
  await assert.rejects(m.inspect('bad purpose', 'dora'), verikit.InvalidArgumentError);
  await assert.rejects(m.unlock('login', ''), verikit.InvalidArgumentError);
  await assert.rejects(m.revokeAll('', 'dora'), verikit.InvalidArgumentError);
  await assert.rejects(m.revokeOtp('login', 'x'.repeat(513)), verikit.InvalidArgumentError);
  await assert.rejects(m.revokeToken(''), (e) => e instanceof verikit.InvalidArgumentError && e.code === 'VERIKIT_E_INVALID_ARGUMENT');
  await assert.rejects(m.revokeLink(42), TypeError);
  // Many at once.
  const many = await Promise.all([
    ...Array.from({ length: 300 }, (_, i) => m.revokeAll('login', `nobody${i}`)),
    ...Array.from({ length: 300 }, (_, i) => m.inspect('login', `nobody${i}`)),
  ]);
  assert.deepEqual(many.slice(0, 300), new Array(300).fill(0));
  assert.ok(many.slice(300).every((r) => r.status === 'not_found'));
});

// A child process whose one libuv pool thread is held (an open() of a FIFO that has no writer
// yet): anything sent to the pool would wait behind it. The operations settle anyway, on both
// stores, while a pool job queued before them (fs.stat) is still waiting.
test('they settle while the libuv thread pool is blocked', async () => {
  const redis = await startRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verikit-pool-'));
  const fifo = path.join(dir, 'fifo');
  try {
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const child = `
      const fs = require('node:fs');
      const verikit = require(${JSON.stringify(PKG)});
      const [fifo, url] = process.argv.slice(1);
      let statDone = false;
      fs.open(fifo, 'r', (err, fd) => { if (!err) fs.closeSync(fd); });  // holds the pool's one thread
      fs.stat('/', () => { statDone = true; });  // queued behind it
      const settled = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r('did not settle'), 5000))]);
      (async () => {
        const out = {};
        for (const [name, store] of [['memory', 'memory://'], ['redis', url]]) {
          const m = new verikit.Manager({ url: store, key: Buffer.alloc(32, 3), keyPrefix: 'pool', abuseControls: false });
          const t = await settled(m.issueToken('login', 'p'));
          const l = await settled(m.issueLink('login', 'p', 'https://e.com'));
          await settled(m.issueOtp('login', 'p'));
          const seen = await settled(m.inspect('login', 'p'));
          out[name] = [seen.status, seen.activeTokens,
            await settled(m.revokeToken(t.secret)), await settled(m.revokeLink(l.secret)),
            await settled(m.revokeOtp('login', 'p')), await settled(m.unlock('login', 'p')),
            await settled(m.revokeAll('login', 'p'))];
          m.close();
        }
        out.statDone = statDone;
        console.log(JSON.stringify(out));
        fs.closeSync(fs.openSync(fifo, 'w'));  // lets the pool go, so the process can end
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', child, fifo, redis.url],
      { encoding: 'utf8', timeout: 60000, env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.statDone, false, 'the pool was not blocked: this test proves nothing');
    for (const store of ['memory', 'redis']) {
      assert.deepEqual(out[store], ['valid', 2, true, true, true, false, 0], store);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await redis.stop();
  }
});

// Nothing else keeps the child's event loop alive: the operations in flight do (the completion
// path is referenced while they are pending), and once they have settled the process ends.
test('a process that only awaits them stays alive until they settle, then ends', async () => {
  const redis = await startRedis();
  try {
    const child = `
      const verikit = require(${JSON.stringify(PKG)});
      const m = new verikit.Manager({ url: process.argv[1], key: Buffer.alloc(32, 4), abuseControls: false });
      m.inspect('login', 'idle').then((r) => console.log('inspect', r.status));
      m.revokeOtp('login', 'idle').then((v) => console.log('revokeOtp', v));
      m.revokeToken('garbage').then((v) => console.log('revokeToken', v));
      m.unlock('login', 'idle').then((v) => console.log('unlock', v));
      m.revokeAll('login', 'idle').then((v) => console.log('revokeAll', v));
    `;
    const r = spawnSync(process.execPath, ['-e', child, redis.url], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(),
      ['inspect not_found', 'revokeAll 0', 'revokeOtp false', 'revokeToken false', 'unlock false']);
  } finally {
    await redis.stop();
  }
});

// The addon reads a string argument with one call into a 256-byte stack buffer and, when it may
// not have fitted, again at its full length: an identifier of every length around that edge,
// with 1- to 4-byte characters straddling it, is read whole — its own code verifies, and the code
// of an identifier that differs only in its last character is not found.
eachStore(test, 'string arguments are read whole at every length around the addon buffer', async (make) => {
  const m = make({ policy: { resendCooldown: 0, sendLimit: false, failureLimit: false, clientFailureLimit: false } });
  for (const tail of ['a', 'é', '€', '😀']) {
    for (let bytes = 244; bytes <= 262; bytes++) {
      const head = 'x'.repeat(bytes - Buffer.byteLength(tail));
      const id = head + tail, twin = head + (tail === 'a' ? 'b' : 'a');
      const issued = await m.issueOtp('login', id);
      assert.equal(issued.status, 'issued', `${bytes} bytes ending in ${tail}`);
      assert.equal(issued.identifier, id, `${bytes} bytes ending in ${tail}: the identifier comes back whole`);
      assert.equal((await m.verifyOtp('login', twin, issued.secret)).status, 'not_found', `${bytes}: its twin`);
      assert.equal((await m.verifyOtp('login', id, issued.secret)).status, 'verified', `${bytes} bytes ending in ${tail}`);
    }
  }
});
