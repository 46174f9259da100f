'use strict';
// close() with operations in flight against a paused Redis (SIGSTOP of the tests' own
// redis-server): every Promise settles exactly once (a clear "engine was closed" rejection, as
// nothing could be answered), nothing crashes, and the engine refuses work afterwards. Each case
// runs in a child process, so a crash is a failure of this test, not of the runner.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { startRedis, PKG } = require('./helpers');

const child = `
  const verikit = require(${JSON.stringify(PKG)});
  const [url, pid, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
  (async () => {
    const m = new verikit.Manager({ url, key: Buffer.alloc(32, 9), keyPrefix: 'close' + n, abuseControls: false });
    const issued = await m.issueOtp('login', 'warm');  // connected, scripts loaded
    const token = (await m.issueToken('login', 'warm')).secret;
    process.kill(pid, 'SIGSTOP');
    const ops = [
      (i) => m.issueOtp('login', 'u' + i), (i) => m.verifyOtp('login', 'warm', issued.secret),
      (i) => m.issueToken('login', 'u' + i), (i) => m.issueLink('login', 'u' + i, 'https://e.com/m'),
      (i) => m.peekToken(token, 'login'), (i) => m.consumeLink(token, 'login'), (i) => m.revokeToken(token),
      (i) => m.revokeOtp('login', 'u' + i), (i) => m.revokeAll('login', 'u' + i), (i) => m.inspect('login', 'u' + i),
      (i) => m.unlock('login', 'u' + i),
    ];
    const settled = new Array(n).fill(0);
    const outcomes = new Array(n);
    const pending = Array.from({ length: n }, (_, i) => ops[i % ops.length](i).then(
      (v) => { settled[i]++; outcomes[i] = 'resolved ' + JSON.stringify(v); },
      (e) => { settled[i]++; outcomes[i] = e instanceof verikit.StoreUnavailableError && e.code === 'VERIKIT_E_STORE_UNAVAILABLE' &&
        /engine was closed/.test(e.message) ? 'closed' : 'other ' + e.name + ' ' + e.code + ' ' + e.message; }));
    await new Promise((r) => setTimeout(r, 50));  // the requests are on the wire, unanswered
    const settledBeforeClose = settled.filter((c) => c > 0).length;
    m.close();
    process.kill(pid, 'SIGCONT');
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 20000))]);
    await new Promise((r) => setTimeout(r, 100));  // a second settlement would show by now
    let after;
    try { await m.issueOtp('login', 'late'); after = 'resolved'; } catch (e) { after = e.code + ' ' + e.message; }
    const counts = {};
    for (const o of outcomes) counts[o] = (counts[o] || 0) + 1;
    console.log(JSON.stringify({ settledBeforeClose, onceEach: settled.every((c) => c === 1), counts, after }));
  })();
`;

test('close() settles every operation in flight exactly once, with Redis paused', async (t) => {
  const redis = await startRedis();
  try {
    for (const n of [1, 100, 2000]) {
      await t.test(`${n} in flight`, async () => {
        const proc = spawn(process.execPath, ['-e', child, redis.url, String(redis.pid), String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        proc.stdout.on('data', (d) => { out += d; });
        proc.stderr.on('data', (d) => { err += d; });
        const [code, signal] = await new Promise((resolve) => {
          const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
          proc.on('exit', (c, s) => { clearTimeout(timer); resolve([c, s]); });
        });
        process.kill(redis.pid, 'SIGCONT');  // whatever the child did
        assert.equal(signal, null, `the child died of ${signal}: ${err}`);
        assert.equal(code, 0, err);
        const r = JSON.parse(out);
        assert.equal(r.settledBeforeClose, 0, 'Redis was not paused: this test proves nothing');
        assert.equal(r.onceEach, true);
        assert.deepEqual(r.counts, { closed: n });
        assert.match(r.after, /^VERIKIT_E_INVALID_ARGUMENT the engine is closed$/);
      });
    }
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
    await redis.stop();
  }
});
