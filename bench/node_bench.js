'use strict';
// OTP issue and verify through the Node binding (N Promises in flight) against Redis, next to
// node-redis running EVALSHA of a script of the same shape (the baseline users would write).
//   node bench/node_bench.js REDIS_URL [operations]
const path = require('node:path');
const verikit = require(process.env.VERIKIT_NODE_PKG || path.join(__dirname, '..'));
const { createClient } = require(process.env.NODE_REDIS_PATH || 'redis');

const VERIFY_LIKE = `
local t = redis.call('TIME')
redis.call('HMGET', KEYS[2], 'cd', 'tat', 'f', 'fw', 'lk', 'lv', 'lvx')
local v = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p')
redis.call('PTTL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', '0123456789abcdefg', 'a', 5, 'f', 1)
redis.call('PEXPIRE', KEYS[1], 600000)
return {0, 5, 1, ''}`;

async function windowed(n, concurrency, op) {
  let next = 0;
  const worker = async () => { while (next < n) { const i = next++; await op(i); } };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function main() {
  const url = process.argv[2];
  const n = Number(process.argv[3] || 50000);
  const m = new verikit.Manager({ url: `${url}?pool_size=1`, key: Buffer.alloc(32), keyPrefix: 'nodebench', abuseControls: false });
  const client = createClient({ url });
  await client.connect();
  const sha = await client.scriptLoad(VERIFY_LIKE);
  console.log(`Node binding against ${url}, ${n} operations per row`);
  console.log(`${'operation'.padEnd(28)} ${'conc'.padStart(5)} ${'verikit/s'.padStart(12)} ${'node-redis EVALSHA/s'.padStart(22)} ${'ratio'.padStart(7)}`);
  for (const c of [1, 16, 64]) {
    const codes = new Array(n);
    const issue = await windowed(n, c, async (i) => { codes[i] = (await m.issueOtp('login', `c${c}-${i}`)).secret; });
    const verify = await windowed(n, c, async (i) => {
      const r = await m.verifyOtp('login', `c${c}-${i}`, codes[i]);
      if (!r.ok) throw new Error(r.status);
    });
    const base = await windowed(n, c, () => client.evalSha(sha, { keys: ['vk:{bench}:o', 'vk:{bench}:r'] }));
    const row = (name, v) => console.log(`${name.padEnd(28)} ${String(c).padStart(5)} ${v.toFixed(0).padStart(12)} ${base.toFixed(0).padStart(22)} ${(v / base).toFixed(2).padStart(6)}x`);
    row('OTP issue', issue);
    row('OTP verify (right code)', verify);
  }
  await client.quit();
  m.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
