'use strict';
// close() with operations in flight against a paused Redis (SIGSTOP of the tests' own
// redis-server): close() returns at once, the engine refuses work afterwards, and once Redis
// runs again every Promise settles exactly once, with its answer (the engine is held until the
// last one), and nothing crashes. Each case runs in a child process, so a crash is a failure of
// this test, not of the runner.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { startRedis, PKG, runChild } = require('./helpers');

const child = `
  const verikit = require(${JSON.stringify(PKG)});
  const [url, pid, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
  (async () => {
    const m = new verikit.Manager({ url, key: Buffer.alloc(32, 9), keyPrefix: 'close' + n, abuseControls: false });
    const issued = await m.issueOtp('login', 'warm');  // connected, scripts loaded
    const token = (await m.issueToken('login', 'warm')).secret;
    await m.enrollTotp('login', 'warm', 'Acme');
    await m.generateRecoveryCodes('login', 'warm');
    const setup = (await m.beginTotpEnrollment('login', 'setup', 'Acme')).pending;
    process.kill(pid, 'SIGSTOP');
    const ops = [
      (i) => m.issueOtp('login', 'u' + i), (i) => m.verifyOtp('login', 'warm', issued.secret),
      (i) => m.issueToken('login', 'u' + i), (i) => m.issueLink('login', 'u' + i, 'https://e.com/m'),
      (i) => m.peekToken(token, 'login'), (i) => m.consumeLink(token, 'login'), (i) => m.revokeToken(token),
      (i) => m.revokeOtp('login', 'u' + i), (i) => m.revokeAll('login', 'u' + i), (i) => m.inspect('login', 'u' + i),
      (i) => m.unlock('login', 'u' + i),
      // the second factors (wrong codes: a paused call must settle, never as verified)
      (i) => m.verifyTotp('login', 'warm', '000000'), (i) => m.useRecoveryCode('login', 'warm', 'ABCDE-FGHJK'),
      (i) => m.confirmTotpEnrollment('login', 'setup', setup, '000000'),
      (i) => m.beginTotpEnrollment('login', 'u' + i, 'Acme'), (i) => m.revokeSecondFactors('login', 'u' + i),
    ];
    const types = ['result', 'result', 'result', 'result', 'result', 'result', 'boolean', 'boolean', 'number', 'result', 'boolean',
      'result', 'result', 'result', 'result', 'number'];
    const settled = new Array(n).fill(0);
    let verified = 0;
    const outcomes = new Array(n);
    // What each kind answers: a result object, a flag or a count.
    const kind = (v) => typeof v === 'object' && v !== null && typeof v.status === 'string' ? 'result' : typeof v;
    const pending = Array.from({ length: n }, (_, i) => ops[i % ops.length](i).then(
      (v) => { settled[i]++; outcomes[i] = kind(v) === types[i % types.length] ? 'answered' : 'wrong answer ' + JSON.stringify(v);
        if (i % types.length === 1 && v.status === 'verified') verified++;
        if (i % types.length !== 1 && v.status === 'verified') outcomes[i] = 'a wrong code verified'; },
      (e) => { settled[i]++; outcomes[i] = 'rejected ' + e.name + ' ' + e.code + ' ' + e.message; }));
    await new Promise((r) => setTimeout(r, 50));  // the requests are on the wire, unanswered
    const settledBeforeClose = settled.filter((c) => c > 0).length;
    const t0 = Date.now();
    m.close();
    const closeMs = Date.now() - t0;
    let refused;
    try { await m.issueOtp('login', 'late'); refused = 'resolved'; } catch (e) { refused = e.code + ' ' + e.message; }
    await new Promise((r) => setTimeout(r, 50));
    const settledWhilePaused = settled.filter((c) => c > 0).length;
    process.kill(pid, 'SIGCONT');
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 20000).unref())]);
    await new Promise((r) => setTimeout(r, 100));  // a second settlement would show by now
    const counts = {};
    for (const o of outcomes) counts[o] = (counts[o] || 0) + 1;
    console.log(JSON.stringify({ settledBeforeClose, settledWhilePaused, closeMs, onceEach: settled.every((c) => c === 1),
      counts, refused, verified }));
  })();
`;

test('close() settles every operation in flight exactly once, with Redis paused', async (t) => {
  const redis = await startRedis();
  try {
    for (const n of [1, 100, 10000]) {
      await t.test(`${n} in flight`, async () => {
        let r;
        try {
          r = await runChild(child, [redis.url, String(redis.pid), String(n)]);
        } finally {
          process.kill(redis.pid, 'SIGCONT');  // whatever the child did
        }
        assert.equal(r.settledBeforeClose, 0, 'Redis was not paused: this test proves nothing');
        assert.equal(r.settledWhilePaused, 0, 'nothing can be answered while Redis is paused');
        assert.ok(r.closeMs < 1000, `close() blocked for ${r.closeMs} ms`);
        assert.equal(r.refused, 'VERIKIT_E_INVALID_ARGUMENT the engine is closed');
        assert.equal(r.onceEach, true, 'a Promise did not settle, or settled twice');
        // Every operation got its own answer, of its kind (a result, a flag, a count)...
        assert.deepEqual(r.counts, { answered: n });
        // ... and the one right code was verified exactly once among the verifications.
        assert.equal(r.verified, n > 1 ? 1 : 0);
      });
    }
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
    await redis.stop();
  }
});

// The environment goes away with operations in flight on a paused Redis: process.exit() in the
// main thread, and a worker thread terminated from outside. Nothing crashes; the worker's
// engine is torn down with its environment, and the main thread's keeps working.
test('exiting with operations in flight, from the main thread and from a worker, does not crash', async () => {
  const redis = await startRedis();
  try {
    const script = `
      const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
      const verikit = require(${JSON.stringify(PKG)});
      const [url, pid, how] = isMainThread ? [process.argv[1], Number(process.argv[2]), process.argv[3]] : workerData;
      async function flood(tag) {
        const m = new verikit.Manager({ url, key: Buffer.alloc(32, 5), keyPrefix: 'exit', abuseControls: false });
        await m.issueOtp('login', tag);  // connected
        return m;
      }
      (async () => {
        if (!isMainThread) {
          const m = await flood('worker');
          process.kill(pid, 'SIGSTOP');
          for (let i = 0; i < 2000; i++) m.issueOtp('login', 'w' + i).catch(() => {});
          parentPort.postMessage('in flight');
          return;
        }
        if (how === 'exit') {
          const m = await flood('main');
          process.kill(pid, 'SIGSTOP');
          for (let i = 0; i < 2000; i++) m.issueOtp('login', 'm' + i).catch(() => {});
          setTimeout(() => { console.log('exiting'); process.exit(0); }, 50);
          return;
        }
        const m = await flood('main');
        const w = new Worker(__filename_placeholder, { eval: true, workerData: [url, pid, how] });
        await new Promise((r) => w.once('message', r));
        await new Promise((r) => setTimeout(r, 50));
        await w.terminate();
        process.kill(pid, 'SIGCONT');
        const r = await m.issueOtp('login', 'after');
        m.close();
        console.log('worker terminated; main thread', r.status);
      })();
    `;
    for (const [how, expected] of [['exit', 'exiting'], ['worker', 'worker terminated; main thread issued']]) {
      const source = script.replace('__filename_placeholder', JSON.stringify(script.replace('__filename_placeholder', 'null')));
      const proc = spawn(process.execPath, ['-e', source, redis.url, String(redis.pid), how], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stdout.on('data', (d) => { out += d; });
      proc.stderr.on('data', (d) => { err += d; });
      const [code, signal] = await new Promise((resolve) => {
        const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
        proc.on('exit', (c, s) => { clearTimeout(timer); resolve([c, s]); });
      });
      process.kill(redis.pid, 'SIGCONT');
      assert.equal(signal, null, `${how}: the child died of ${signal}: ${err}`);
      assert.equal(code, 0, `${how}: ${err}`);
      assert.equal(out.trim(), expected, how);
    }
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
    await redis.stop();
  }
});

// An engine that becomes unreachable with operations in flight (no close()) is not freed under
// them: they settle with their answers once Redis runs again.
test('an unreachable engine with operations in flight answers them all', async () => {
  const redis = await startRedis();
  try {
    const child = `
      const verikit = require(${JSON.stringify(PKG)});
      const [url, pid] = [process.argv[1], Number(process.argv[2])];
      (async () => {
        let m = new verikit.Manager({ url, key: Buffer.alloc(32, 6), keyPrefix: 'gc', abuseControls: false });
        await m.issueOtp('login', 'warm');
        process.kill(pid, 'SIGSTOP');
        const pending = Array.from({ length: 500 }, (_, i) => m.issueOtp('login', 'g' + i));
        m = null;
        for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
        process.kill(pid, 'SIGCONT');
        const results = await Promise.all(pending);
        console.log(results.filter((r) => r.status === 'issued').length);
      })();
    `;
    const proc = spawn(process.execPath, ['--expose-gc', '-e', child, redis.url, String(redis.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    const [code, signal] = await new Promise((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
      proc.on('exit', (c, s) => { clearTimeout(timer); resolve([c, s]); });
    });
    process.kill(redis.pid, 'SIGCONT');
    assert.equal(signal, null, `the child died of ${signal}: ${err}`);
    assert.equal(code, 0, err);
    assert.equal(out.trim(), '500');
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* gone */ }
    await redis.stop();
  }
});

// The embedded store: close() with 1, 100 and 10,000 operations in flight; each settles exactly
// once, with its answer (the right code verified once).
test('close() on the embedded store settles every operation in flight exactly once', async () => {
  for (const n of [1, 100, 10000]) {
    const r = await runChild(`
      const verikit = require(${JSON.stringify(PKG)});
      (async () => {
        const n = ${n};
        const m = new verikit.Manager({ abuseControls: false });
        const code = (await m.issueOtp('login', 'warm')).secret;
        const settled = new Array(n).fill(0);
        const statuses = {};
        const pending = Array.from({ length: n }, (_, i) => m.verifyOtp('login', i === 0 ? 'warm' : 'u' + i, code).then(
          (v) => { settled[i]++; statuses[v.status] = (statuses[v.status] || 0) + 1; },
          (e) => { settled[i]++; statuses[e.name] = (statuses[e.name] || 0) + 1; }));
        m.close();
        await Promise.all(pending);
        await new Promise((r) => setTimeout(r, 50));
        console.log(JSON.stringify({ onceEach: settled.every((c) => c === 1), statuses }));
      })();
    `);
    assert.equal(r.onceEach, true, `${n}: a Promise did not settle, or settled twice`);
    assert.deepEqual(r.statuses, n > 1 ? { verified: 1, not_found: n - 1 } : { verified: 1 }, String(n));
  }
});

// 200 managers, alternately on the embedded store and on Redis, each used and closed: the
// process ends with the threads and descriptors it had after the first one.
test('200 managers created and closed leave no thread or descriptor behind', async () => {
  const redis = await startRedis();
  try {
    const r = await runChild(`
      const fs = require('node:fs');
      const verikit = require(${JSON.stringify(PKG)});
      const count = (d) => fs.readdirSync(d).length;
      (async () => {
        const cycle = async (i) => {
          const m = new verikit.Manager(i % 2 ? { url: process.argv[1], key: Buffer.alloc(32, 3), abuseControls: false }
            : { abuseControls: false });
          const r = await m.issueOtp('login', 'many');
          if (r.status !== 'issued') throw new Error(r.status);
          m.close();
        };
        await cycle(1);
        await cycle(0);  // warm up: libuv's pool and process-wide state exist from here on
        await new Promise((r) => setTimeout(r, 100));
        const before = { threads: count('/proc/self/task'), fds: count('/proc/self/fd') };
        for (let i = 0; i < 200; i++) await cycle(i);
        for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
        const after = { threads: count('/proc/self/task'), fds: count('/proc/self/fd') };
        console.log(JSON.stringify({ before, after }));
      })();
    `, [redis.url], ['--expose-gc']);
    assert.deepEqual(r.after, r.before);
  } finally {
    await redis.stop();
  }
});

// close() racing 8 busy callers: 8 loops share one manager, each keeping 25 operations in flight
// (issue, then verify the code it got), on the embedded store and on a running Redis. close()
// lands while they run: every operation settles exactly once, with its answer or "the engine is
// closed"; no right code fails; every loop ends (no hang).
test('close() racing 8 busy callers settles everything once', async () => {
  const redis = await startRedis();
  try {
    for (const url of ['memory://', redis.url]) {
      const r = await runChild(`
        const verikit = require(${JSON.stringify(PKG)});
        (async () => {
          const m = new verikit.Manager({ url: process.argv[1], key: Buffer.alloc(32, 4), keyPrefix: 'race8', abuseControls: false });
          const counts = { answered: 0, closed: 0, settledTwice: 0, wrong: [] };
          const once = (p) => {
            let settled = false;
            const mark = () => { if (settled) counts.settledTwice++; settled = true; };
            return p.then((v) => { mark(); counts.answered++; return v; },
              (e) => { mark(); if (/engine is closed/.test(e.message)) counts.closed++; else counts.wrong.push(e.message); throw e; });
          };
          const loop = async (t) => {
            for (let round = 0; ; round++) {
              const batch = Array.from({ length: 25 }, (_, i) => once(m.issueOtp('login', 't' + t + '-' + i))
                .then((r) => once(m.verifyOtp('login', 't' + t + '-' + i, r.secret)))
                .then((v) => { if (v.status !== 'verified') counts.wrong.push(v.status); }));
              const outcomes = await Promise.allSettled(batch);
              if (outcomes.some((o) => o.status === 'rejected')) return round;
              await new Promise((r) => setImmediate(r));  // the embedded store answers in microtasks: let timers run
            }
          };
          const loops = Array.from({ length: 8 }, (_, t) => loop(t));
          setTimeout(() => m.close(), 30);
          const rounds = await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(() => r('hang'), 30000).unref())]);
          await new Promise((r) => setTimeout(r, 50));  // a second settlement would show by now
          console.log(JSON.stringify({ rounds, ...counts }));
        })();
      `, [url]);
      assert.notEqual(r.rounds, 'hang', `${url}: a loop never ended after close()`);
      assert.deepEqual(r.wrong, [], url);
      assert.equal(r.settledTwice, 0, url);
      assert.ok(r.answered > 0 && r.closed > 0, `${url}: close() did not land mid-load (${r.answered} answered, ${r.closed} closed)`);
    }
  } finally {
    await redis.stop();
  }
});

// Worker threads terminated mid-load: 8 workers, each with its own manager (alternately on the
// embedded store and on a running Redis) and hundreds of operations in flight, terminated one
// after another while busy, for three rounds. The process survives, the main thread's manager
// keeps working, and the threads of the terminated workers' engines are gone with them.
test('worker threads terminated mid-load leave a working process and no threads behind', async () => {
  const redis = await startRedis();
  try {
    const worker = `
      const { parentPort, workerData } = require('node:worker_threads');
      const verikit = require(${JSON.stringify(PKG)});
      const [url, i] = workerData;
      const m = new verikit.Manager({ url, key: Buffer.alloc(32, 8), keyPrefix: 'wt', abuseControls: false });
      let done = 0;
      const step = (n) => m.issueOtp('login', 'w' + i + '-' + (n % 500))
        .then((r) => m.verifyOtp('login', 'w' + i + '-' + (n % 500), r.secret))
        .then(() => { if (++done === 200) parentPort.postMessage('busy'); step(n + 400); }, () => {});
      for (let n = 0; n < 400; n++) step(n);  // 400 chains, each always with one operation in flight
    `;
    const r = await runChild(`
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      const verikit = require(${JSON.stringify(PKG)});
      const url = process.argv[1];
      const threads = () => fs.readdirSync('/proc/self/task').length;
      const round = async () => {
        const workers = Array.from({ length: 8 }, (_, i) =>
          new Worker(${JSON.stringify(worker)}, { eval: true, workerData: [i % 2 ? url : 'memory://', i] }));
        await Promise.all(workers.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); })));
        for (const w of workers) {  // each terminated while it (and those after it) run
          await new Promise((res) => setTimeout(res, 5));
          await w.terminate();
        }
      };
      (async () => {
        const m = new verikit.Manager({ url, key: Buffer.alloc(32, 8), keyPrefix: 'wt-main', abuseControls: false });
        await round();  // warm up: Node's own per-process threads exist from here on
        const before = threads();
        await round();
        await round();
        const after = threads();
        const r = await m.issueOtp('login', 'main');
        const v = await m.verifyOtp('login', 'main', r.secret);
        m.close();
        console.log(JSON.stringify({ before, after, main: v.status }));
      })();
    `, [redis.url]);
    assert.equal(r.main, 'verified');
    assert.equal(r.after, r.before, 'threads of terminated workers (or of their engines) are left');
  } finally {
    await redis.stop();
  }
});
