'use strict';
// Lifecycle events in Node (issue 16): manager.on(name | '*', fn) / off on both stores, with
// their fields and no code or token in them; a throwing listener is reported, not fatal; events
// never keep the process alive; close and worker termination release everything; the types.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { verikit, PKG, eachStore } = require('./helpers');

// Waits (a condition, polled; up to 20 s) until `events` holds n entries.
async function waitFor(events, n) {
  const deadline = Date.now() + 20000;
  while (events.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(events.length >= n, `only ${events.length} of ${n} events: ${events.map((e) => e.name).join(' ')}`);
  return events;
}

const wrong = (code) => (code[0] === '1' ? '2' : '1') + code.slice(1);

eachStore(test, 'each kind with its fields, and no secrets', async (make) => {
  const m = make({ policy: { maxAttempts: 2, resendCooldown: 0 }, policies: { cool: { resendCooldown: 60 } } });
  const all = [];
  const verified = [];
  m.on('*', (e) => all.push(e));
  m.on('otp.verified', (e) => verified.push(e));
  const issued = await m.issueOtp('login', ' Ann@Example.com');
  assert.equal((await m.verifyOtp('login', 'ann@example.com', wrong(issued.secret), { clientKey: '203.0.113.9' })).status, 'invalid');
  assert.equal((await m.verifyOtp('login', 'ann@example.com', issued.secret)).status, 'verified');
  const token = await m.issueToken('confirm', 'ann@example.com');
  assert.equal((await m.peekToken(token.secret, 'confirm')).status, 'valid');  // no event
  assert.equal((await m.consumeToken(token.secret, verikit.ANY_PURPOSE)).status, 'verified');
  await m.issueOtp('cool', 'bo');
  assert.equal((await m.issueOtp('cool', 'bo')).status, 'cooldown');
  const link = await m.issueLink('confirm', 'bo', 'https://app.example/c');
  assert.equal(await m.revokeLink(link.secret), true);
  assert.equal(await m.revokeAll('cool', 'bo'), 1);
  await waitFor(all, 10);
  assert.deepEqual(all.map((e) => e.name), ['otp.issued', 'otp.invalid', 'otp.verified', 'token.issued', 'token.verified',
    'otp.issued', 'otp.cooldown', 'link.issued', 'link.revoked', 'all.revoked']);
  assert.deepEqual(verified.map((e) => e.name), ['otp.verified'], 'a named listener gets only its events');

  const [first, invalid] = all;
  assert.equal(first.credential, 'otp');
  assert.equal(first.kind, 'issued');
  assert.equal(first.status, 'issued');
  assert.equal(first.purpose, 'login');
  assert.match(first.identifierTag, /^[0-9a-f]{32}$/);
  assert.equal(first.identifier, null);
  assert.equal(first.clientTag, '');
  assert.equal(first.attemptsUsed, 0);
  assert.equal(first.attemptsRemaining, 2);
  assert.equal(first.count, null);
  assert.ok(first.at instanceof Date && Math.abs(first.at.getTime() - Date.now()) < 600000);
  assert.equal(invalid.attemptsUsed, 1);
  assert.match(invalid.clientTag, /^[0-9a-f]{32}$/);
  assert.equal(new Set(all.slice(0, 5).map((e) => e.identifierTag)).size, 1, 'one tag per identifier across purposes');
  assert.equal(all[4].purpose, 'confirm');
  assert.ok(all[6].retryAfter > 0 && all[6].retryAfter <= 60000);
  assert.equal(all[9].count, 1);
  assert.equal(all[9].status, null);
  const text = JSON.stringify(all);
  for (const secret of [issued.secret, token.secret, link.secret, link.url]) assert.equal(text.includes(secret), false);
  assert.equal(text.includes('ann@'), false);
});

eachStore(test, 'off, the identifier on request, and a throwing listener', async (make) => {
  const m = make({ eventsIncludeIdentifier: true, abuseControls: false });
  const got = [];
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const boom = () => { throw new Error('listener bug'); };
    const keep = (e) => got.push(e);
    m.on('token.issued', boom).on('token.issued', keep);
    await m.issueToken('confirm', 'Cy');
    await waitFor(got, 1);
    assert.equal(got[0].identifier, 'cy');
    m.off('token.issued', keep).off('token.issued', boom);
    await m.issueToken('confirm', 'cy');
    const probe = [];
    m.on('otp.issued', (e) => probe.push(e));
    await m.issueOtp('login', 'cy');
    await waitFor(probe, 1);  // events are delivered in order: the token's came before, unheard
    assert.equal(got.length, 1, 'a removed listener hears nothing');
    while (warnings.length === 0) await new Promise((r) => setTimeout(r, 5));  // emitted on the next tick
    assert.match(warnings[0].message, /a listener of token\.issued threw: Error: listener bug/);
    assert.equal(warnings[0].name, 'VerikitWarning');
    assert.equal(warnings[0].code, 'VERIKIT_EVENT_LISTENER');
    const [delivered, dropped] = m.eventCounts();
    assert.equal(dropped, 0);
    assert.ok(delivered >= 3);
    assert.match(m.metrics(), /verikit_events_delivered_total \d+/);
  } finally {
    process.off('warning', onWarning);
  }
});

test('bad names and listeners are refused', () => {
  const m = new verikit.Manager();
  try {
    assert.throws(() => m.on('otp.verifed', () => {}), TypeError);
    assert.throws(() => m.on('verified', () => {}), TypeError);
    assert.throws(() => m.on('*', 'log'), TypeError);
    assert.ok(verikit.EVENT_NAMES.includes('link.issued') && verikit.EVENT_NAMES.includes('*'));
    assert.throws(() => new verikit.Manager({ eventQueueCapacity: 0 }), (e) => e instanceof verikit.ConfigError &&
      /event_queue_capacity/.test(e.message));
    assert.throws(() => new verikit.Manager({ eventQueueCapacity: -1 }), (e) => e instanceof verikit.ConfigError &&
      /event_queue_capacity must be 1 to 1048576 \(option 'eventQueueCapacity'\)/.test(e.message));
    assert.throws(() => new verikit.Manager({ eventQueueCapacity: 1.5 }), TypeError);
  } finally {
    m.close();
  }
});

// In child processes, so a hang or a crash is this test's failure, not the runner's.
function runChild(source, flags = []) {
  return spawnSync(process.execPath, [...flags, '-e', source], { encoding: 'utf8', timeout: 30000 });
}

test('a listener does not keep the process alive, and close() releases at once', () => {
  const r = runChild(`
    const verikit = require(${JSON.stringify(PKG)});
    const m = new verikit.Manager({ abuseControls: false });
    m.on('*', (e) => console.log(e.name));
    m.issueOtp('login', 'a').then(() => setTimeout(() => console.log('done'), 100));
    // no close(): the process must still exit when nothing else is pending
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'otp.issued\ndone\n');
  const closed = runChild(`
    const verikit = require(${JSON.stringify(PKG)});
    const m = new verikit.Manager({ abuseControls: false });
    m.on('*', (e) => console.log(e.name));
    (async () => {
      for (let i = 0; i < 50; ++i) await m.issueToken('confirm', 'u' + i);
      m.close();  // events already queued are still delivered, then the function is released
      console.log('closed');
    })();
  `);
  assert.equal(closed.status, 0, closed.stderr);
  const lines = closed.stdout.trim().split('\n');
  assert.equal(lines.filter((l) => l === 'token.issued').length, 50);
  assert.ok(lines.includes('closed'));
});

test('worker termination and garbage collection release the engine cleanly', async () => {
  const source = `
    const { parentPort } = require('node:worker_threads');
    const verikit = require(${JSON.stringify(PKG)});
    const m = new verikit.Manager({ policy: { resendCooldown: 0, sendLimit: false, clientIssueLimit: false } });
    let n = 0;
    m.on('*', () => { if (++n === 20) parentPort.postMessage('heard'); });
    (async () => {  // until terminated; yielding to the event loop, where events arrive
      for (let i = 0; ; ++i) {
        await m.issueToken('confirm', 'u' + (i % 100));
        await new Promise((r) => setImmediate(r));
      }
    })();
  `;
  for (let i = 0; i < 3; ++i) {
    const w = new Worker(source, { eval: true });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    assert.equal(await w.terminate(), 1);
  }
  const gc = runChild(`
    const verikit = require(${JSON.stringify(PKG)});
    (async () => {
      for (let i = 0; i < 20; ++i) {
        const m = new verikit.Manager({ abuseControls: false });
        m.on('*', () => {});
        await m.issueOtp('login', 'x');
      }
      global.gc();
      await new Promise((r) => setTimeout(r, 50));
      global.gc();
      console.log('ok');
    })();
  `, ['--expose-gc']);
  assert.equal(gc.status, 0, gc.stderr);
  assert.equal(gc.stdout, 'ok\n');
});

test('the TypeScript declarations type events and their names', () => {
  const project = process.env.VERIKIT_NODE_PROJECT;
  assert.ok(project, 'run through scripts/test_node.sh (an installed package and tsc)');
  const good = `import { Manager, VerikitEvent, EventName } from 'verikit';
const m = new Manager({ eventQueueCapacity: 100, eventsIncludeIdentifier: false });
const name: EventName = 'otp.verified';
m.on(name, (e: VerikitEvent) => { const t: string = e.identifierTag; const r: number = e.retryAfter; void t; void r; })
  .on('*', (e) => { if (e.kind === 'locked' && e.status === 'locked') console.log(e.at.toISOString()); });
const [delivered, dropped]: [number, number] = m.eventCounts();
void delivered; void dropped;
m.close();
`;
  const bad = `import { Manager } from 'verikit';
const m = new Manager();
m.on('otp.verifed', () => {});
m.on('*', (e) => { const n: number = e.identifierTag; void n; });
`;
  fs.writeFileSync(path.join(project, 'events_good.ts'), good);
  fs.writeFileSync(path.join(project, 'events_bad.ts'), bad);
  const tsc = path.join(project, 'node_modules', '.bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];
  const ok = spawnSync(tsc, [...flags, 'events_good.ts'], { cwd: project, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const wrongTs = spawnSync(tsc, [...flags, 'events_bad.ts'], { cwd: project, encoding: 'utf8' });
  assert.match(wrongTs.stdout, /events_bad\.ts\(3,\d+\): error TS2345/);
  assert.match(wrongTs.stdout, /events_bad\.ts\(4,\d+\): error TS2322/);
});
