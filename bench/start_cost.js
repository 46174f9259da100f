'use strict';
// Starts N verifyOtp calls of one Manager at once and awaits them all (Promise.all), the way a
// server handles a burst: what each call costs the event loop's thread. Run under callgrind by
// scripts/start_cost.sh, which subtracts a run with N = 0.
//
//   node bench/start_cost.js N [STORE_URL]      (default memory://)
const { Manager } = require(process.env.VERIKIT_NODE_PKG || require('node:path').join(__dirname, '..'));

async function main(n, store) {
  const m = new Manager({ store, key: Buffer.from(Array.from({ length: 32 }, (_, i) => i)), keyPrefix: 'startcost', abuseControls: false });
  try {
    const code = (await m.issueOtp('login', 'someone-else@example.com')).secret; // a well-formed code
    // For an identifier with no code: every call goes through the store and answers not_found.
    const calls = [];
    for (let i = 0; i < n; i++) calls.push(m.verifyOtp('login', 'burst@example.com', code));
    const results = await Promise.all(calls);
    if (!results.every((r) => r.status === 'not_found')) throw new Error(`unexpected: ${JSON.stringify(results[0])}`);
  } finally {
    m.close();
  }
}

main(Number(process.argv[2]), process.argv[3] || 'memory://').catch((e) => {
  console.error(e);
  process.exit(1);
});
