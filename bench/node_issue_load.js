'use strict';
// OTP issues (and, with `verify`, their verifications) through the Node binding at 64 in flight,
// to distinct identifiers, as bench/anchor_bench.js drives verikit: the load behind the Node
// binding's cost per operation. Run it under callgrind twice with different counts and take
// the difference, so start-up cancels out:
//
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/a.out node bench/node_issue_load.js REDIS_URL 24000
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/b.out node bench/node_issue_load.js REDIS_URL 4000
//   (totals of a.out - b.out) / 20000 = instructions per issue, the whole process
//
// VERIKIT_NODE_PKG: the verikit package to load (default: this repository's).
const path = require('node:path');

const verikit = require(process.env.VERIKIT_NODE_PKG || path.join(__dirname, '..'));
const url = process.argv[2];
const n = Number(process.argv[3] || 200000);
const what = process.argv[4] || 'issue';
if (!url) {
  console.error('usage: node bench/node_issue_load.js REDIS_URL [count] [issue|verify]');
  process.exit(2);
}

async function windowed(count, concurrency, op) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      await op(i);
    }
  }));
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

(async () => {
  const vk = new verikit.Manager({ url: `${url}?pool_size=1`, key: Buffer.alloc(32, 7), keyPrefix: 'vkload' });
  const tag = Math.random().toString(36).slice(2);
  const codes = new Array(n);
  const issued = await windowed(n, 64, async (i) => {
    const r = await vk.issueOtp('login', `${tag}-${i}@example.com`);
    if (r.status !== 'issued') throw new Error(r.status);
    codes[i] = r.secret;
  });
  console.log(`issue ${Math.round(issued)}/s`);
  if (what === 'verify') {
    const verified = await windowed(n, 64, async (i) => {
      const r = await vk.verifyOtp('login', `${tag}-${i}@example.com`, codes[i]);
      if (r.status !== 'verified') throw new Error(r.status);
    });
    console.log(`verify ${Math.round(verified)}/s`);
  }
  await vk.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
