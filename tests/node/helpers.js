'use strict';
// Test helpers: the verikit package as installed by scripts/test_node.sh (a packed tarball
// installed into a temporary project), and redis-server processes of the tests' own.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const PKG = process.env.VERIKIT_NODE_PKG || path.join(__dirname, '..', '..');
const verikit = require(PKG);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verikit-node-redis-'));
  const port = await freePort();
  const log = path.join(dir, 'redis.log');
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--logfile', log], { stdio: 'ignore' });
  proc.unref();  // never keeps a test process alive
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('Ready to accept')) {
      return {
        url: `redis://127.0.0.1:${port}`,
        pid: proc.pid,  // to pause it (SIGSTOP) in lifetime tests
        stop: () => new Promise((resolve) => {
          proc.once('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); });
          proc.ref();  // wait for it to exit
          proc.kill('SIGTERM');
        }),
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

const KEY = Buffer.alloc(32, 7);
let prefix = 0;

// Runs `fn(makeManager)` once per store: the embedded one and a Redis the suite starts.
function eachStore(t, name, fn) {
  t.describe(name, () => {
    let redis;
    t.before(async () => { redis = await startRedis(); });
    t.after(async () => { await redis.stop(); });
    for (const store of ['memory', 'redis']) {
      t.it(store, async () => {
        const managers = [];
        const make = (options = {}) => {
          const m = new verikit.Manager({
            url: store === 'memory' ? 'memory://' : redis.url, key: KEY, keyPrefix: `node${++prefix}`, ...options,
          });
          managers.push(m);
          return m;
        };
        try { await fn(make, store === 'redis' ? redis.url : 'memory://'); } finally { managers.forEach((m) => m.close()); }
      });
    }
  });
}

// Runs a script in a child process (a crash fails this test, not the runner) and returns its
// last line of output, parsed.
async function runChild(source, args = [], flags = []) {
  const proc = spawn(process.execPath, [...flags, '-e', source, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const [code, signal] = await new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 120000);
    proc.on('exit', (c, s) => { clearTimeout(timer); resolve([c, s]); });
  });
  assert.equal(signal, null, `the child died of ${signal}: ${err}`);
  assert.equal(code, 0, err);
  return JSON.parse(out.trim().split('\n').pop());
}

module.exports = { verikit, PKG, startRedis, freePort, eachStore, KEY, runChild };
