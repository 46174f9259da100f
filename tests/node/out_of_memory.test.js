'use strict';
// Memory running out on verikit's own threads inside a Node process (the Redis client's I/O
// thread, the event thread): tests/support/fail_new_preload.cpp, built here, in LD_PRELOAD makes
// verikit's allocations there fail by many patterns (every one, every n-th, runs of them), armed
// once the engine is up. In every pattern: the process neither crashes nor hangs (a Promise left
// pending keeps the child waiting: killed after 120 s, a failure), every Promise settles (a
// result, or an Error with a verikit code and a message), no wrong code is verified, close() with calls in flight settles them all, and failures did happen. The control
// (nothing fails) verifies every right code, so the checks can tell. (Allocations of Node's own
// code are left alone, on any thread: Node is built without exceptions, so a bad_alloc inside
// napi_call_threadsafe_function leaves its mutex locked: beyond any caller's repair.)
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRedis, PKG } = require('./helpers');

const SHIM = path.join(__dirname, '..', 'support', 'fail_new_preload.cpp');

function buildShim() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verikit-node-oom-'));
  const out = (name) => path.join(dir, name);
  const cc = (extra, file) => execFileSync('c++', ['-O1', '-shared', '-fPIC', ...extra, '-o', out(file), SHIM, '-ldl']);
  cc([], 'libfail_new.so');
  cc(['-DVERIKIT_FAIL_NEW_SWITCH=1'], 'on.so');  // loading it arms the preloaded library
  cc(['-DVERIKIT_FAIL_NEW_SWITCH=0'], 'off.so');
  return { dir, lib: out('libfail_new.so'), on: out('on.so'), off: out('off.so') };
}

const child = `
  const verikit = require(${JSON.stringify(PKG)});
  const [url, on, off] = process.argv.slice(1);
  // A library whose constructor flips the switch; it is no Node module, which process.dlopen says.
  const flip = (lib) => { try { process.dlopen({ exports: {} }, lib); } catch { /* expected */ } };
  const n = 150;
  const out = { calls: 0, wrongVerified: 0, rightVerified: 0, errors: {} };
  const record = (e) => {
    const ok = e instanceof Error && typeof e.code === 'string' && e.code.startsWith('VERIKIT_E_') && e.message.length > 0;
    const k = ok ? e.code : 'UNEXPECTED ' + String(e && e.stack || e);
    out.errors[k] = (out.errors[k] || 0) + 1;
  };
  const wrongFor = (code) => (code === '000000' ? '111111' : '000000');
  async function one(m, i) {
    out.calls++;
    const who = 'a' + i;
    try {
      const r = await m.issueOtp('login', who);
      if (r.status !== 'issued') return;
      const wrongs = await Promise.allSettled([0, 1].map(() => m.verifyOtp('login', who, wrongFor(r.secret))));
      for (const w of wrongs) {
        if (w.status === 'rejected') record(w.reason);
        else if (w.value.ok || w.value.status === 'verified') out.wrongVerified++;
      }
      const v = await m.verifyOtp('login', who, r.secret);
      if (v.ok && v.status === 'verified') out.rightVerified++;
    } catch (e) {
      record(e);
    }
  }
  (async () => {
    const m = new verikit.Manager({ url, key: Buffer.alloc(32, 4), keyPrefix: 'oom' + process.pid });
    m.on('*', () => {});  // the event thread runs too
    await m.issueOtp('login', 'warm');
    flip(on);
    await Promise.all(Array.from({ length: n }, (_, i) => one(m, i)));
    // Engines opened off the event loop (Manager.open) while memory runs out: each opening settles
    // once, a Manager or a verikit error; a Manager it gives works (or fails with verikit errors).
    const openings = await Promise.allSettled(Array.from({ length: 8 }, () =>
      verikit.Manager.open({ url, key: Buffer.alloc(32, 4), keyPrefix: 'oom' + process.pid })));
    out.openSettled = openings.length;
    out.opened = 0;
    for (const o of openings) {
      if (o.status === 'rejected') { record(o.reason); continue; }
      out.opened++;
      await one(o.value, 'open' + out.opened);
      o.value.close();
    }
    const pending = Array.from({ length: 50 }, (_, i) => m.verifyOtp('login', 'c' + i, '000000'));
    m.close();
    const closed = await Promise.allSettled(pending);
    for (const c of closed) {
      if (c.status === 'rejected') record(c.reason);
      else if (c.value.ok) out.wrongVerified++;
    }
    out.closeSettled = closed.length;
    flip(off);
    console.log(JSON.stringify(out));
  })();
`;

function runChild(shim, url, pattern) {
  const env = { ...process.env, LD_PRELOAD: shim.lib, VERIKIT_FAIL_NEW: pattern };
  const proc = spawn(process.execPath, ['-e', child, url, shim.on, shim.off], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 120000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      assert.equal(signal, null, `${pattern}: the child died of ${signal} (killed after 120 s: a hang): ${err.slice(-3000)}`);
      assert.equal(code, 0, `${pattern}: ${err.slice(-3000)}`);
      const m = /verikit-fail-new: failed (\d+) of (\d+)/.exec(err);
      assert.ok(m, err.slice(-2000));
      resolve({ report: JSON.parse(out.trim().split('\n').pop()), failed: Number(m[1]) });
    });
  });
}

test('memory running out on verikit threads: every Promise settles once, no wrong code verified', async (t) => {
  const shim = buildShim();
  const redis = await startRedis();
  try {
    // (a short command timeout: requests whose connection the failures took down wait less)
    const url = redis.url + '?command_timeout_ms=500';
    for (const pattern of ['0,0', '1,1', '2,1', '3,2', '5,1', '7,1', '13,4', '29,3']) {
      await t.test(pattern, async () => {
        const { report: r, failed } = await runChild(shim, url, pattern);
        assert.equal(r.calls, 150 + r.opened);
        assert.equal(r.closeSettled, 50);
        assert.equal(r.openSettled, 8);
        assert.equal(r.wrongVerified, 0, JSON.stringify(r));
        assert.deepEqual(Object.keys(r.errors).filter((k) => k.startsWith('UNEXPECTED')), [], JSON.stringify(r));
        if (pattern === '0,0') {
          assert.equal(failed, 0);
          assert.equal(r.opened, 8, JSON.stringify(r));
          assert.equal(r.rightVerified, 158, JSON.stringify(r));
          assert.deepEqual(r.errors, {});
        } else {
          assert.ok(failed > 0, `${pattern}: no allocation failed: the run proves nothing`);
        }
      });
    }
  } finally {
    await redis.stop();
    fs.rmSync(shim.dir, { recursive: true, force: true });
  }
});
