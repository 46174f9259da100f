'use strict';
// Recovery codes through the Node binding, on both stores.
const test = require('node:test');
const assert = require('node:assert/strict');
const { eachStore } = require('./helpers');

const policy = {
  recoveryCodes: 5, sendLimit: false, resendCooldown: 0, clientIssueLimit: false, clientFailureLimit: false,
  clientPairFailureLimit: false, failureLimit: { count: 3, period: 86400, burst: 3 },
};

eachStore(test, 'recovery codes', async (make) => {
  const m = make({ policy });
  assert.equal(await m.recoveryCodesRemaining('mfa', 'ann'), 0);
  const set = await m.generateRecoveryCodes('mfa', 'ann');
  assert.equal(set.status, 'issued');
  assert.equal(set.codes.length, 5);
  assert.equal(new Set(set.codes).size, 5);
  assert.ok(set.codes.every((c) => /^[2-9A-Z]{5}-[2-9A-Z]{5}$/.test(c)));
  assert.equal((await m.useRecoveryCode('mfa', 'ann', set.codes[0].toLowerCase())).status, 'verified');
  assert.equal((await m.useRecoveryCode('mfa', 'ann', set.codes[0])).status, 'invalid', 'single use');
  assert.equal(await m.recoveryCodesRemaining('mfa', 'ann'), 4);
  const both = await Promise.all([m.useRecoveryCode('mfa', 'ann', set.codes[1]), m.useRecoveryCode('mfa', 'ann', set.codes[1])]);
  assert.deepEqual(both.map((r) => r.status).sort(), ['invalid', 'verified'], 'two concurrent uses: one succeeds');
  assert.equal((await m.useRecoveryCode('mfa', 'ann', set.codes[0])).status, 'locked', 'the third wrong guess spends the budget');
  assert.equal((await m.useRecoveryCode('mfa', 'ann', set.codes[2])).status, 'locked', 'locked: nothing compared');
  assert.equal(await m.unlock('mfa', 'ann'), true);
  const again = await m.generateRecoveryCodes('mfa', 'ann');
  assert.equal((await m.useRecoveryCode('mfa', 'ann', set.codes[2])).status, 'invalid', 'regenerated: the old set is gone');
  assert.equal((await m.useRecoveryCode('mfa', 'ann', again.codes[2])).status, 'verified');
  assert.equal((await m.issueOtp('mfa', 'ann')).codes, null, 'other results carry no codes');
  await assert.rejects(m.useRecoveryCode('mfa', 'ann', 'short'), { name: 'InvalidArgumentError' });
});
