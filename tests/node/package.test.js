'use strict';
// The package as a user installs it (scripts/test_node.sh packs it and installs the tarball into
// a temporary project): require and import, the TypeScript declarations, the examples.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { freePort, startRedis } = require('./helpers');

const project = process.env.VERIKIT_NODE_PROJECT;
const examples = path.join(__dirname, '..', '..', 'examples', 'node');
const env = { ...process.env, VERIKIT_NODE_PKG: path.join(project || '', 'node_modules', 'verikit') };

test('runs against an installed copy', () => {
  assert.ok(project && fs.existsSync(path.join(project, 'node_modules', 'verikit', 'package.json')),
    'VERIKIT_NODE_PROJECT must name a project with verikit installed (run scripts/test_node.sh)');
});

test('require and import both work', () => {
  const cjs = spawnSync(process.execPath, ['-e', "const v = require('verikit'); console.log(typeof v.Manager, v.version)"],
    { cwd: project, encoding: 'utf8' });
  assert.equal(cjs.status, 0, cjs.stderr);
  assert.match(cjs.stdout, /^function \d+\.\d+\.\d+/);
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e',
    "import verikit, { Manager, InvalidArgumentError, ANY_PURPOSE } from 'verikit';\n" +
    "const m = new Manager(); const r = await m.issueOtp('login', 'esm');\n" +
    "console.log(r.status, verikit.Manager === Manager, typeof InvalidArgumentError, ANY_PURPOSE); m.close();"],
  { cwd: project, encoding: 'utf8' });
  assert.equal(esm.status, 0, esm.stderr);
  assert.equal(esm.stdout.trim(), 'issued true function *');
});

test('the TypeScript declarations check a correct program and catch a wrong one', () => {
  const good = `import { Manager, Result, InvalidArgumentError, ANY_PURPOSE } from 'verikit';
const m = new Manager({ policy: { otpLength: 8, sendLimit: { count: 5, period: 3600, burst: 2 } } });
async function main(): Promise<string> {
  const r: Result = await m.issueOtp('login', 'a@b.c', { ttl: 60, payload: Buffer.from('x') });
  const v = await m.verifyOtp('login', 'a@b.c', r.secret);
  const l = await m.issueLink('login', 'a@b.c', 'https://e.com');
  const t = await m.consumeToken(l.secret, ANY_PURPOSE);
  const any: '*' = ANY_PURPOSE;
  if (v.status === 'verified' && t.ok && any && !(r instanceof InvalidArgumentError)) return l.url;
  return v.expiresAt?.toISOString() ?? '';
}
main().then(() => m.close());
`;
  const bad = `import { Manager } from 'verikit';
const m = new Manager();
m.issueOtp('login', 42);
const s: number = m.verifyOtp('login', 'a', 'b');
m.consumeToken('token');
m.peekLink('token');
m.verify('a', 'b');
m.generate('a');
m.verifyToken('a', 'b');
`;
  fs.writeFileSync(path.join(project, 'good.ts'), good);
  fs.writeFileSync(path.join(project, 'bad.ts'), bad);
  const tsc = path.join(project, 'node_modules', '.bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];
  const ok = spawnSync(tsc, [...flags, 'good.ts'], { cwd: project, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const wrong = spawnSync(tsc, [...flags, 'bad.ts'], { cwd: project, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stdout, /Argument of type 'number' is not assignable/);
  assert.match(wrong.stdout, /Promise<Result>' is not assignable to type 'number'/);
  assert.match(wrong.stdout, /bad\.ts\(5,\d+\): error TS2554: Expected 2-3 arguments, but got 1/, 'consumeToken needs a purpose');
  assert.match(wrong.stdout, /bad\.ts\(6,\d+\): error TS2554: Expected 2 arguments, but got 1/, 'peekLink needs a purpose');
  for (const name of ['verify', 'generate', 'verifyToken']) {
    assert.match(wrong.stdout, new RegExp(`Property '${name}' does not exist on type 'Manager'`));
  }
});

test('the quick start runs on both stores', async () => {
  const redis = await startRedis();
  try {
    for (const url of ['memory://', redis.url]) {
      const r = spawnSync(process.execPath, [path.join(examples, 'quickstart.js'), url], { env, encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /all flows behaved as documented/);
    }
  } finally {
    await redis.stop();
  }
});

// A browser profile: its own cookies (the flow cookie set at sign-up, the session cookie once signed in).
function browser(base) {
  const jar = new Map();
  const call = async (url, init = {}) => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const r = await fetch(url, { ...init, headers: cookie ? { cookie } : {} });
    for (const set of r.headers.getSetCookie()) {
      const [pair] = set.split(';');
      jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    return [r.status, await r.text()];
  };
  return {
    get: (url) => call(url),
    post: (p, fields) => call(base + p, { method: 'POST', body: new URLSearchParams(fields) }),
  };
}

test('the sign-up server: code and magic link bound to the browser that asked, cross-device fallback', async () => {
  const port = await freePort();
  const server = spawn(process.execPath, [path.join(examples, 'server.js'), String(port)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve) => server.stdout.once('data', resolve));
    const base = `http://127.0.0.1:${port}`;
    const asker = browser(base), other = browser(base);
    assert.equal((await asker.post('/signup', { email: ' Kim@Example.com ' }))[0], 202);
    assert.equal((await asker.post('/signup', { email: 'kim@example.com' }))[0], 429);
    const mail = JSON.parse((await asker.get(base + '/outbox'))[1]).at(-1);
    assert.equal((await asker.post('/verify', { email: 'kim@example.com', code: mail.code === '000000' ? '111111' : '000000' }))[0], 401);
    assert.deepEqual(await other.post('/verify', { email: 'kim@example.com', code: mail.code }), [401, 'invalid'],
      'the code relayed to another browser is a wrong guess');
    assert.deepEqual(await asker.post('/verify', { email: 'KIM@example.com', code: mail.code }), [200, 'verified']);
    const [status, page] = await asker.get(mail.link);
    assert.equal(status, 200);
    assert.match(page, /Confirm sign-up for kim@example.com/);
    assert.equal((await other.get(mail.link))[0], 200, 'a GET does not consume the link');
    const token = new URL(mail.link).searchParams.get('token');
    const [denied, offer] = await other.post('/magic', { token });
    assert.equal(denied, 403);
    assert.match(offer, /another browser/);
    const [shown, codePage] = await other.post('/magic/code', { token });
    assert.equal(shown, 200);
    const fallback = /<b id=code>([^<]+)<\/b>/.exec(codePage)[1];
    assert.deepEqual(await asker.post('/magic', { token }), [200, 'verified kim@example.com'], 'same browser: signed in');
    assert.match((await asker.get(`${base}/`))[1], /Signed in as kim@example.com/);
    assert.match((await other.get(`${base}/`))[1], /Not signed in/);
    assert.equal((await asker.post('/magic', { token }))[0], 410);
    assert.equal((await asker.get(mail.link))[0], 410);
    assert.deepEqual(await asker.post('/fallback', { email: 'kim@example.com', code: fallback }), [401, 'not_found'],
      'the fallback code after the link was used: nothing left to sign in with');
    assert.equal((await asker.post('/signup', { email: '' }))[0], 400);
    // Hostile requests get an answer and leave the server up (an unreadable URL once ended it).
    const raw = (text, end = true) => new Promise((resolve) => {
      const socket = require('node:net').connect(port, '127.0.0.1', () => (end ? socket.end(text) : socket.write(text)));
      let reply = '';
      socket.on('data', (d) => { reply += d; });
      socket.on('close', () => resolve(reply.split('\r\n')[0]));
      socket.on('error', () => resolve(reply.split('\r\n')[0]));
      if (!end) setTimeout(() => socket.destroy(), 200);  // a body cut short
    });
    assert.match(await raw('GET //[ HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400/);
    const big = 'email=' + 'x'.repeat(70000);
    assert.match(await raw(`POST /signup HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`), /^HTTP\/1\.1 413/);
    await raw('POST /signup HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nemail=a', false);
    assert.equal((await asker.get(`${base}/`))[0], 200, 'still serving');
  } finally {
    server.kill('SIGTERM');
  }
});
