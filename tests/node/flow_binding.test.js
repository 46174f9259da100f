'use strict';
// Flow binding through the Node binding, on both stores: a credential issued with a binding
// verifies only with the same value; mismatches answer like wrong secrets and spend the budget.
const test = require('node:test');
const assert = require('node:assert/strict');
const { verikit, eachStore } = require('./helpers');

const budgetOnly = {
  sendLimit: false, resendCooldown: 0, clientIssueLimit: false, clientFailureLimit: false, clientPairFailureLimit: false,
  maxActiveTokens: 0, failureLimit: { count: 10, period: 86400, burst: 10 },
};

eachStore(test, 'flow binding', async (make) => {
  {  // a bound OTP verifies only with its binding
    const m = make({ policy: budgetOnly });
    const code = await m.issueOtp('login', 'ann', { binding: 'cookie-1' });
    const wrong = await m.verifyOtp('login', 'ann', code.secret, { binding: 'cookie-2' });
    assert.equal(wrong.status, 'invalid');
    assert.equal((await m.verifyOtp('login', 'ann', code.secret, { binding: Buffer.from('cookie-1') })).status, 'verified');
    assert.equal((await m.inspect('login', 'ann')).counters.failures, 1);
  }
  {  // bound links and tokens are used only with their binding; peek ignores it
    const m = make({ policy: budgetOnly });
    const link = await m.issueLink('login', 'bea', 'https://app.example/magic', { binding: 'cookie-1', payload: '/next' });
    assert.equal((await m.consumeLink(link.secret, 'login')).status, 'not_found');
    assert.equal((await m.consumeLink(link.secret, 'login', { binding: 'other' })).status, 'not_found');
    const seen = await m.peekLink(link.secret, 'login');
    assert.equal(seen.status, 'valid');
    assert.equal(seen.identifier, 'bea');
    const used = await m.consumeLink(link.secret, 'login', { binding: 'cookie-1' });
    assert.equal(used.status, 'verified');
    assert.equal(used.payload.toString(), '/next');
    const token = await m.issueToken('confirm', 'bea', { binding: 'c' });
    assert.equal((await m.consumeToken(token.secret, 'confirm', { binding: 'd' })).status, 'not_found');
    assert.equal((await m.consumeToken(token.secret, 'confirm', { binding: 'c' })).status, 'verified');
    await assert.rejects(m.consumeToken(token.secret, verikit.ANY_PURPOSE, { binding: 'c' }), { name: 'InvalidArgumentError' });
    await assert.rejects(m.consumeLink(link.secret, 'login', { binding: 42 }), { name: 'TypeError' });
  }
  {  // wrong bindings spend the budget, then the link is locked
    const m = make({ policy: { ...budgetOnly, failureLimit: { count: 2, period: 86400, burst: 2 } } });
    const link = await m.issueLink('login', 'cy', 'https://app.example/magic', { binding: 'right' });
    assert.equal((await m.consumeLink(link.secret, 'login', { binding: 'w1' })).status, 'not_found');
    assert.equal((await m.consumeLink(link.secret, 'login', { binding: 'w2' })).status, 'not_found');
    const locked = await m.consumeLink(link.secret, 'login', { binding: 'right' });
    assert.equal(locked.status, 'locked');
    assert.ok(locked.retryAfter > 0);
    assert.equal(await m.unlock('login', 'cy'), true);
    assert.equal((await m.consumeLink(link.secret, 'login', { binding: 'right' })).status, 'verified');
  }
});

// An empty binding (a missing cookie written as `cookie ?? ''`) would pass as no binding, and the
// credential verify under any: every call that takes one refuses it; omitted or null is none.
eachStore(test, 'an empty binding is refused, not taken as none', async (make) => {
  const m = make({ policy: budgetOnly });
  const code = await m.issueOtp('login', 'eve', { binding: 'cookie-1' });
  const link = await m.issueLink('login', 'eve', 'https://app.example/magic', { binding: 'cookie-1' });
  const token = await m.issueToken('confirm', 'eve', { binding: 'cookie-1' });
  const detached = new Uint8Array(new ArrayBuffer(8));
  structuredClone(detached.buffer, { transfer: [detached.buffer] });  // (its buffer moved away: length 0)
  for (const binding of ['', Buffer.alloc(0), new Uint8Array(0), detached]) {
    const calls = [
      () => m.issueOtp('login', 'fay', { binding }),
      () => m.issueToken('confirm', 'fay', { binding }),
      () => m.issueLink('login', 'fay', 'https://app.example/magic', { binding }),
      () => m.verifyOtp('login', 'eve', code.secret, { binding }),
      () => m.consumeToken(token.secret, 'confirm', { binding }),
      () => m.consumeLink(link.secret, 'login', { binding }),
    ];
    for (const call of calls) {
      await assert.rejects(call(), (e) => e instanceof verikit.InvalidArgumentError && /binding must not be empty/.test(e.message));
    }
  }
  assert.equal((await m.inspect('login', 'fay')).status, 'not_found', 'nothing was issued');
  assert.equal((await m.inspect('login', 'eve')).counters.failures, 0, 'nothing was counted');
  assert.equal((await m.verifyOtp('login', 'eve', code.secret, { binding: 'cookie-1' })).status, 'verified');
  const unbound = await m.issueOtp('login', 'gus', { binding: null });
  assert.equal((await m.verifyOtp('login', 'gus', unbound.secret, { binding: undefined })).status, 'verified');
});
