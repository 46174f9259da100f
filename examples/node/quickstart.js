'use strict';
// verikit Node.js quick start: OTP, token and magic link flows. node examples/node/quickstart.js [store-url]
const verikit = require(process.env.VERIKIT_NODE_PKG || 'verikit');

async function main(url) {
  // A new key each run, so a key prefix of its own: a shared store's records remember the key they
  // were written with (README "Key check"). An application keeps one key and one prefix.
  const keyPrefix = `quickstart-${require('node:crypto').randomBytes(4).toString('hex')}`;
  const manager = new verikit.Manager({
    url, key: verikit.generateKey(), keyPrefix, policies: { 'reset-password': { revokeAllOnUse: true } },
  });

  // Every result is an object, and objects are always truthy: test result.ok (or result.status).
  const code = await manager.issueOtp('login', 'alice@example.com');
  console.log(`code ${code.secret}, expires ${code.expiresAt.toISOString()}`);
  const wrong = await manager.verifyOtp('login', 'alice@example.com', code.secret === '000000' ? '111111' : '000000');
  if (wrong.ok) throw new Error('a wrong code was accepted');
  console.log(`wrong code -> ${wrong.status}, ${wrong.attemptsRemaining} attempts left`);
  const right = await manager.verifyOtp('login', 'alice@example.com', code.secret);
  if (!right.ok) throw new Error(`expected verified, got ${right.status}`);
  console.log(`right code -> ${right.status}`);
  const again = await manager.issueOtp('login', 'alice@example.com');
  console.log(`resend at once -> ${again.status}, retry in ${Math.ceil(again.retryAfter / 1000)} s`);

  const token = await manager.issueToken('confirm-email', 'alice@example.com', { payload: 'new@example.org' });
  const checked = await manager.consumeToken(token.secret, 'confirm-email');  // the purpose is required
  if (!checked.ok || checked.payload.toString() !== 'new@example.org') throw new Error('token flow failed');
  console.log(`token -> ${checked.status} for ${checked.identifier}, payload ${checked.payload}`);

  const link = await manager.issueLink('reset-password', 'alice@example.com', 'https://app.example.com/reset');
  console.log(`link ${link.url}`);
  if ((await manager.peekLink(link.secret, 'reset-password')).status !== 'valid') throw new Error('peek failed');
  if (!(await manager.consumeLink(link.secret, 'reset-password')).ok) throw new Error('consume failed');
  if ((await manager.consumeLink(link.secret, 'reset-password')).ok) throw new Error('a link was used twice');
  console.log('link consumed once, refused after');

  manager.close();
  console.log('all flows behaved as documented');
}

main(process.argv[2] || 'memory://').catch((e) => { console.error(e); process.exit(1); });
