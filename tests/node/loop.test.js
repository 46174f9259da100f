'use strict';
// The event loop keeps ticking while thousands of operations are in flight against Redis, and
// a process that exits with operations in flight does not crash.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { verikit, startRedis, PKG } = require('./helpers');

test('timer drift stays small with thousands of operations in flight', async () => {
  const redis = await startRedis();
  const m = new verikit.Manager({ url: redis.url, key: Buffer.alloc(32, 1), abuseControls: false });
  try {
    let worst = 0;
    let last = process.hrtime.bigint();
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      worst = Math.max(worst, Number(now - last) / 1e6 - 5);
      last = now;
    }, 5);
    // 20,000 operations submitted 500 per macrotask, so thousands are in flight at once while
    // the timer runs; a binding that waited for Redis on the loop would stall it.
    const ops = [];
    let maxInFlight = 0;
    let settled = 0;
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 500; i++) {
        ops.push(m.issueOtp('login', `u${batch}-${i}`).then((r) => { settled++; return r; }));
      }
      maxInFlight = Math.max(maxInFlight, ops.length - settled);
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(ops);
    clearInterval(timer);
    assert.ok(results.every((r) => r.status === 'issued'));
    assert.ok(maxInFlight >= 1000, `only ${maxInFlight} operations were in flight at once`);
    assert.ok(worst < 100, `the event loop stalled for ${worst.toFixed(1)} ms`);
  } finally {
    m.close();
    await redis.stop();
  }
});

test('process exit with operations in flight does not crash', async () => {
  const redis = await startRedis();
  try {
  const child = `
    const verikit = require(${JSON.stringify(PKG)});
    const m = new verikit.Manager({ url: ${JSON.stringify(redis.url)}, key: Buffer.alloc(32, 2), abuseControls: false });
    for (let i = 0; i < 20000; i++) m.issueOtp('login', 'u' + i).catch(() => {});
    setImmediate(() => process.exit(0));
  `;
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.signal, null, `child died by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
  }
  // And a process that simply ends (no exit call) with a manager left open is not kept alive.
  const idle = spawnSync(process.execPath, ['-e', `
    const verikit = require(${JSON.stringify(PKG)});
    const m = new verikit.Manager({ url: ${JSON.stringify(redis.url)}, key: Buffer.alloc(32, 2) });
    m.issueOtp('login', 'x').then((r) => console.log(r.status));
  `], { encoding: 'utf8', timeout: 30000 });
  assert.equal(idle.status, 0, idle.stderr);
  assert.equal(idle.stdout.trim(), 'issued');
  } finally {
    await redis.stop();
  }
});
