'use strict';
// verikit (Node binding) next to its anchor, redis-otp-manager 1.6.1 on node-redis 5, on the same
// Redis in the same run: throughput at 64 operations in flight, latency at 1, Redis's CPU and
// command time per operation, and Redis memory per pending code. Each row is the median of 3
// runs, the two libraries interleaved; every run uses fresh identifiers.
//
//   node bench/anchor_bench.js REDIS_URL ANCHOR_FOLDER [identifiers]
//
// ANCHOR_FOLDER holds redis-otp-manager and redis (node-redis 5): scripts/anchor.sh makes it.
// VERIKIT_NODE_PKG: the verikit package to measure (default: this repository's). Where `taskset`
// exists, Redis is pinned to CPU 0 and this process to CPU 1 (scripts/bench.sh runs this).
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { createRequire } = require('node:module');

const verikit = require(process.env.VERIKIT_NODE_PKG || path.join(__dirname, '..'));
const url = process.argv[2];
const anchorDir = process.argv[3];
const n = Number(process.argv[4] || 100000);
if (!url || !anchorDir) {
  console.error('usage: node bench/anchor_bench.js REDIS_URL ANCHOR_FOLDER [identifiers]');
  process.exit(2);
}
const fromAnchor = createRequire(path.join(path.resolve(anchorDir), 'package.json'));
const rom = fromAnchor('redis-otp-manager');
const { createClient } = fromAnchor('redis');

const CONCURRENCY = 64;

// Runs op(i) for i in [0, count) with `concurrency` in flight; ops/s.
async function windowed(count, concurrency, op) {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function latencies(count, op) {
  const us = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await op(i);
    us.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  us.sort((a, b) => a - b);
  return us[Math.floor(us.length / 2)];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function pin(pid, cpu) {
  try {
    execFileSync('taskset', ['-pc', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const admin = createClient({ url });
  await admin.connect();
  const info = async (section) => admin.info(section);
  const field = (text, name) => Number((text.match(new RegExp(`^${name}:([0-9.]+)`, 'm')) || [])[1] || 0);
  const cpuUs = async () => {
    const t = await info('cpu');
    return 1e6 * (field(t, 'used_cpu_user') + field(t, 'used_cpu_sys'));
  };
  // Every command's time in Redis (commandstats usec, summed): scripts and plain commands alike.
  const commandUs = async () => {
    const t = await info('commandstats');
    let sum = 0;
    for (const m of t.matchAll(/usec=(\d+)/g)) sum += Number(m[1]);
    return sum;
  };
  const pinned = pin(field(await info('server'), 'process_id'), 0) && pin(process.pid, 1);

  const key = Buffer.alloc(32, 7);
  const vk = new verikit.Manager({ url: `${url}?pool_size=1`, key, keyPrefix: 'vkbench' });
  const client = createClient({ url });
  await client.connect();
  // The anchor configured as its README's production example: HMAC with a secret, a rate limit
  // and a resend cooldown (verikit's defaults have its abuse controls on too).
  const anchor = new rom.OTPManager({
    store: new rom.RedisAdapter(client),
    ttl: 300,
    maxAttempts: 5,
    devMode: true, // the code comes back in the result (the benchmark has no mailbox)
    hashing: { secret: 'anchor-benchmark-secret-0123456789' },
    rateLimit: { window: 3600, max: 10 },
    resendCooldown: 30,
  });

  let round = 0;
  const ids = (tag) => (i) => `${tag}-${round}-${i}@example.com`;
  const sides = {
    verikit: {
      issue: (id) => vk.issueOtp('login', id).then((r) => { if (r.status !== 'issued') throw new Error(r.status); return r.secret; }),
      verify: (id, code) => vk.verifyOtp('login', id, code).then((r) => r.status),
      tokenPair: async (id) => {
        const t = await vk.issueToken('confirm', id);
        const r = await vk.consumeToken(t.secret, 'confirm');
        if (r.status !== 'verified') throw new Error(r.status);
      },
    },
    anchor: {
      issue: (id) => anchor.generate({ type: 'email', identifier: id, intent: 'login' }).then((r) => r.otp),
      verify: (id, code) => anchor.verify({ type: 'email', identifier: id, intent: 'login', otp: code })
        .then(() => 'verified', (e) => (e instanceof rom.OTPInvalidError ? 'invalid' : Promise.reject(e))),
      tokenPair: async (id) => {
        const g = await anchor.generateToken({ type: 'email', identifier: id, intent: 'verify-email' });
        await anchor.verifyToken({ type: 'email', identifier: id, intent: 'verify-email', token: g.token });
      },
    },
  };

  const results = {}; // row -> side -> [values]
  const add = (row, side, v) => ((results[row] ||= {})[side] ||= []).push(v);
  const per = async (what, row, side, count, body) => {
    const cpu0 = await cpuUs(), cmd0 = await commandUs();
    const rate = await body();
    add(`Redis CPU per ${what} (INFO cpu), us`, side, ((await cpuUs()) - cpu0) / count);
    add(`Redis command time per ${what} (commandstats), us`, side, ((await commandUs()) - cmd0) / count);
    return rate;
  };

  for (round = 0; round < 3; round++) {
    for (const side of round % 2 ? ['anchor', 'verikit'] : ['verikit', 'anchor']) {
      const s = sides[side];
      const gen = ids(`g-${side}`);
      const codes = new Array(n);
      add('OTP generate, c64, /s', side, await per('generate', 'generate', side, n,
        () => windowed(n, CONCURRENCY, async (i) => { codes[i] = await s.issue(gen(i)); })));
      add('OTP verify, right code, c64, /s', side, await per('verify', 'verify', side, n,
        () => windowed(n, CONCURRENCY, async (i) => {
          const st = await s.verify(gen(i), codes[i]);
          if (st !== 'verified') throw new Error(`${side} verify: ${st}`);
        })));
      const wrong = ids(`w-${side}`);
      const wcodes = new Array(n);
      await windowed(n, CONCURRENCY, async (i) => { wcodes[i] = await s.issue(wrong(i)); });
      add('OTP verify, wrong code, c64, /s', side, await windowed(n, CONCURRENCY, async (i) => {
        const st = await s.verify(wrong(i), wcodes[i] === '000000' ? '111111' : '000000');
        if (st !== 'invalid') throw new Error(`${side} wrong code: ${st}`);
      }));
      const tok = ids(`t-${side}`);
      add('token issue + verify, c64, pairs/s', side, await windowed(n / 2, CONCURRENCY, (i) => s.tokenPair(tok(i))));
      const lat = ids(`l-${side}`);
      const lcodes = new Array(2000);
      for (let i = 0; i < lcodes.length; i++) lcodes[i] = await s.issue(lat(i));
      add('OTP verify c1, p50, us', side, await latencies(lcodes.length, async (i) => {
        if ((await s.verify(lat(i), lcodes[i])) !== 'verified') throw new Error('c1 verify');
      }));
    }
  }
  // Memory per pending code: used_memory after issuing n codes to new identifiers, less before.
  for (const side of ['verikit', 'anchor']) {
    await admin.flushAll();
    const m0 = field(await info('memory'), 'used_memory');
    const mem = ids(`m-${side}`);
    await windowed(n, CONCURRENCY, (i) => sides[side].issue(mem(i)));
    add('Redis memory per pending code (used_memory / N), B', side, (field(await info('memory'), 'used_memory') - m0) / n);
  }

  console.log(`verikit vs redis-otp-manager 1.6.1 (node-redis 5) on ${url}, ${n} identifiers per row, ` +
    `median of 3 interleaved runs${pinned ? ', Redis pinned to CPU 0 and the client to CPU 1' : ' (taskset unavailable: not pinned)'}`);
  console.log(`${'row'.padEnd(52)} ${'anchor'.padStart(12)} ${'verikit'.padStart(12)} ${'ratio'.padStart(8)}`);
  for (const [row, by] of Object.entries(results)) {
    const a = median(by.anchor), v = median(by.verikit);
    // For rates, higher is better (verikit / anchor); for costs, the anchor's over verikit's.
    const cost = / us$| B$/.test(row);
    const ratio = cost ? a / v : v / a;
    const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2)).padStart(12);
    console.log(`${row.padEnd(52)} ${fmt(a)} ${fmt(v)} ${ratio.toFixed(2).padStart(7)}x`);
  }
  console.log('(ratio: how many times better verikit is: rates verikit/anchor, costs anchor/verikit)');
  vk.close();
  await client.quit();
  await admin.quit();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
