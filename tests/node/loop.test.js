'use strict';
// The event loop keeps ticking while thousands of operations are in flight against Redis, and
// a process that exits with operations in flight does not crash.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const { verikit, startRedis, PKG } = require('./helpers');

// 5,000 operations wait for a paused Redis (SIGSTOP) while a 5 ms timer runs: none of them holds
// the loop. Another process resumes Redis after 3 s (a binding that waited on the loop could not
// resume it itself, and would not reach the count below before then); while every operation is
// still waiting, the timer has fired, then every one is answered. No wall-clock bound is
// asserted: only ticks counted while nothing could be answered.
test('the event loop keeps ticking while thousands of operations wait for a paused Redis', async () => {
  const redis = await startRedis();
  const m = new verikit.Manager({ url: `${redis.url}?command_timeout_ms=30000`, key: Buffer.alloc(32, 1), abuseControls: false });
  let resumer;
  try {
    await m.issueOtp('login', 'warm');
    process.kill(redis.pid, 'SIGSTOP');
    resumer = spawn('sh', ['-c', `sleep 3; kill -CONT ${redis.pid}`], { stdio: 'ignore' });
    const exited = new Promise((r) => resumer.on('exit', r));
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 5);
    let answered = 0;
    const ops = [];
    for (let i = 0; i < 5000; i++) ops.push(m.issueOtp('login', `u${i}`).then((r) => { answered++; return r; }));
    await new Promise((r) => setTimeout(r, 300));
    const whilePaused = ticks;
    const noneAnswered = answered === 0;
    const results = await Promise.all(ops);
    clearInterval(timer);
    await exited;
    assert.ok(noneAnswered, 'Redis was resumed before the count: the operations held the loop');
    assert.ok(whilePaused >= 3, `the loop ticked ${whilePaused} times while 5,000 operations waited`);
    assert.ok(results.every((r) => r.status === 'issued'));
  } finally {
    try { process.kill(redis.pid, 'SIGCONT'); } catch { /* already gone */ }
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
