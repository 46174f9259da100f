'use strict';
// Manager.open(): the engine created off the event loop (libuv's thread pool). It resolves to a
// Manager that works like one made by the constructor (events included), rejects with the
// constructor's errors, lets the loop turn while it waits for a server, and an opening in
// flight when a worker is terminated or the process exits crashes nothing and leaves nothing.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { verikit, startRedis, PKG, KEY, runChild } = require('./helpers');

// A TCP server that accepts and never answers: a connection, then a handshake that waits.
async function silentServer() {
  const sockets = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${server.address().port}`,
    close: () => { sockets.forEach((s) => s.destroy()); server.close(); },
  };
}

test('Manager.open resolves to a working Manager, events included, on each store', async () => {
  const redis = await startRedis();
  try {
    for (const url of ['memory://', redis.url]) {
      const m = await verikit.Manager.open({ url, key: KEY, abuseControls: false });
      assert.ok(m instanceof verikit.Manager, url);
      const seen = [];
      m.on('otp.verified', (e) => seen.push(e.name));
      const issued = await m.issueOtp('login', 'opened');
      const wrong = await m.verifyOtp('login', 'opened', issued.secret === '000000' ? '111111' : '000000');
      assert.equal(wrong.status, 'invalid', url);
      assert.equal(wrong.ok, false, url);
      assert.equal((await m.verifyOtp('login', 'opened', issued.secret)).status, 'verified', url);
      for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(seen, ['otp.verified'], `${url}: the event of the verification`);
      m.close();
      await assert.rejects(m.issueOtp('login', 'after'), /closed/);
    }
    const byString = await verikit.Manager.open('memory://');
    assert.equal((await byString.issueOtp('login', 'x')).status, 'issued');
    byString.close();
  } finally {
    await redis.stop();
  }
});

test('Manager.open rejects with the errors the constructor throws', async () => {
  const cases = [
    [{ url: 'bogus://x' }],
    [{ url: 'redis://127.0.0.1:1' }],  // nothing listens on port 1
    [{ url: 'memory://', policy: { maxAttempts: 0 } }],
    [{ url: 'memory://', noSuchOption: 1 }],
    [{ url: 'memory://', key: Buffer.alloc(5) }],
    [null],
    [42],
  ];
  for (const [options] of cases) {
    let thrown;
    try { new verikit.Manager(options); } catch (e) { thrown = e; }
    assert.ok(thrown, `the constructor accepted ${JSON.stringify(options)}`);
    await assert.rejects(verikit.Manager.open(options), (e) => {
      assert.equal(e.constructor, thrown.constructor, JSON.stringify(options));
      assert.equal(e.code, thrown.code, JSON.stringify(options));
      return true;
    });
  }
});

// No wall-clock bound: only turns of the loop counted before the opening settled (none if it
// had blocked the loop, as the constructor does).
test('the event loop turns while Manager.open waits for a server that does not answer', async () => {
  const silent = await silentServer();
  try {
    let turns = 0;
    let settled = false;
    const turn = () => { if (!settled) { turns++; setImmediate(turn); } };
    setImmediate(turn);
    const opening = verikit.Manager.open({ url: `${silent.url}?connect_timeout_ms=300&command_timeout_ms=300`, key: KEY });
    await assert.rejects(opening.finally(() => { settled = true; }),
      (e) => e.code === 'VERIKIT_E_STORE_UNAVAILABLE' || e.code === 'VERIKIT_E_TIMEOUT');
    assert.ok(turns > 0, 'the event loop did not turn while the engine was being opened');
  } finally {
    silent.close();
  }
});

// Openings in flight (against a server that never answers, and against a working one) when
// workers are terminated and when the process exits: no crash, and the engines of the workers'
// openings are freed (their threads gone).
test('openings in flight survive worker termination and process exit', async () => {
  const silent = await silentServer();
  const redis = await startRedis();
  try {
    const worker = `
      const { parentPort, workerData } = require('node:worker_threads');
      const verikit = require(${JSON.stringify(PKG)});
      const [urls] = workerData;
      for (const url of urls) for (let i = 0; i < 4; i++) verikit.Manager.open({ url, key: Buffer.alloc(32, 3) }).catch(() => {});
      parentPort.postMessage('opening');
    `;
    const r = await runChild(`
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      const verikit = require(${JSON.stringify(PKG)});
      const [slow, fast] = process.argv.slice(1);
      const threads = () => fs.readdirSync('/proc/self/task').length;
      const settle = () => new Promise((res) => setTimeout(res, 1500));  // the openings' timeouts (1 s) passed
      const round = async () => {
        const workers = Array.from({ length: 4 }, () =>
          new Worker(${JSON.stringify(worker)}, { eval: true, workerData: [[slow + '?connect_timeout_ms=1000&command_timeout_ms=1000', fast]] }));
        await Promise.all(workers.map((w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej); })));
        for (const w of workers) await w.terminate();
        await settle();
      };
      (async () => {
        await round();  // warm up: Node's own per-process threads exist from here on
        const before = threads();
        await round();
        await round();
        const after = threads();
        const m = await verikit.Manager.open({ url: fast, key: Buffer.alloc(32, 3) });
        const issued = await m.issueOtp('login', 'main');
        const v = await m.verifyOtp('login', 'main', issued.secret);
        m.close();
        for (let i = 0; i < 4; i++) verikit.Manager.open({ url: slow, key: Buffer.alloc(32, 3) }).catch(() => {});
        console.log(JSON.stringify({ before, after, main: v.status }));
        process.exit(0);  // with four openings in flight
      })();
    `, [silent.url, redis.url]);
    assert.equal(r.main, 'verified');
    assert.equal(r.after, r.before, 'threads of engines opened for terminated workers are left');
  } finally {
    silent.close();
    await redis.stop();
  }
});
