'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { verikit, freePort } = require('./helpers');

test('wrong types reject with TypeError', async () => {
  const m = new verikit.Manager();
  await assert.rejects(m.issueOtp('login', 42), { name: 'TypeError', message: /identifier must be a string or a Buffer/ });
  await assert.rejects(m.issueOtp(Buffer.from('login'), 'a'), { name: 'TypeError', message: /purpose must be a string/ });
  await assert.rejects(m.verifyOtp('login', 'a', 123456), { name: 'TypeError', message: /code must be a string/ });
  await assert.rejects(m.issueOtp('login', 'a', { ttl: '60' }), { name: 'TypeError', message: /ttl/ });
  // A number that is no count of seconds, or out of range, is a bad value, not a bad type.
  for (const ttl of [-1, 0, 1.5, NaN, Infinity, 2 ** 31, 2 ** 63]) {
    await assert.rejects(m.issueOtp('login', 'a', { ttl }), (e) => e instanceof verikit.InvalidArgumentError && /ttl/.test(e.message), String(ttl));
  }
  await assert.rejects(m.issueOtp('login', 'a', 'options'), { name: 'TypeError' });
  m.close();
});

test('invalid arguments reject with InvalidArgumentError and change nothing', async () => {
  const m = new verikit.Manager({ abuseControls: false });
  const r = await m.issueOtp('login', 'hal');
  const cases = [
    () => m.issueOtp('login', ''),
    () => m.issueOtp('', 'hal'),
    () => m.issueOtp('log in', 'hal'),
    () => m.issueOtp('login', 'x'.repeat(513)),
    () => m.issueOtp('login', 'hal', { payload: Buffer.alloc(8193) }),
    () => m.verifyOtp('login', 'hal', ''),
    () => m.consumeToken('', 'login'),
    () => m.issueLink('login', 'hal', 'ftp://e.com'),
    () => m.issueLink('login', 'hal', 'not a url'),
    // text with no UTF-8 form (lone surrogates would become one U+FFFD, two identifiers one), or
    // that C would cut short (a NUL)
    () => m.issueOtp('login', 'hal\ud800'),
    () => m.verifyOtp('login', 'hal\udfff', r.secret),
    () => m.verifyOtp('login', 'hal', '12\ud80034'),
    () => m.issueOtp('login', 'hal', { clientKey: 'c\udc00' }),
    () => m.issueOtp('lo\0gin', 'hal'),
    () => m.issueLink('login', 'hal', 'https://e.com/\0x'),
    () => m.consumeToken('x', 'log\0in'),
  ];
  for (const c of cases) {
    await assert.rejects(c(), (e) => e instanceof verikit.InvalidArgumentError && e instanceof verikit.VerikitError &&
      e.code === 'VERIKIT_E_INVALID_ARGUMENT' && e.message.length > 0);
  }
  assert.equal((await m.inspect('login', 'hal')).attemptsRemaining, 5);
  assert.equal((await m.verifyOtp('login', 'hal', r.secret)).status, 'verified');
  m.close();
  await assert.rejects(m.issueOtp('login', 'hal'), /closed/);
});

test('bad configurations throw at construction', async () => {
  assert.throws(() => new verikit.Manager({ policy: { otpLength: 3 } }), (e) => e instanceof verikit.ConfigError && /otp_length/.test(e.message));
  assert.throws(() => new verikit.Manager({ policy: { otpLenght: 6 } }), { name: 'InvalidArgumentError', message: /unknown policy field.*otpLenght/ });
  // Numbers go to the core's schema as they are: no silent 32-bit wrap, no rounding.
  assert.throws(() => new verikit.Manager({ policy: { maxAttempts: 1.5 } }), { name: 'InvalidArgumentError', message: /max_attempts.*whole number/ });
  assert.throws(() => new verikit.Manager({ policy: { maxAttempts: 2 ** 32 + 5 } }), { name: 'ConfigError', message: /max_attempts must be 1 to 100/ });
  assert.throws(() => new verikit.Manager({ policy: { ttl: 2 ** 40 } }), (e) => e instanceof verikit.ConfigError && /ttl/.test(e.message));
  assert.throws(() => new verikit.Manager({ policy: { failureLimit: { count: 1, period: 0, burst: 1 } } }), verikit.ConfigError);
  assert.throws(() => new verikit.Manager({ policy: { reissue: 'sometimes' } }), { name: 'InvalidArgumentError', message: /replace\|resend_same/ });
  assert.throws(() => new verikit.Manager({ policy: { maxAttempts: [5] } }), { name: 'TypeError' });
  // Key ids are one byte: never wrapped (257 would be 1) or rounded.
  for (const keyId of [256, 257, -1, 1.5, NaN]) {
    assert.throws(() => new verikit.Manager({ key: Buffer.alloc(32, 1), keyId }), { name: 'InvalidArgumentError', message: /key id/ }, String(keyId));
  }
  assert.throws(() => new verikit.Manager({ key: Buffer.alloc(32, 1), previousKeys: [[300, Buffer.alloc(32, 2)]], indexKey: Buffer.alloc(32, 1) }), { name: 'InvalidArgumentError' });
  new verikit.Manager({ key: Buffer.alloc(32, 1), keyId: 255 }).close();
  assert.throws(() => new verikit.Manager({ key: Buffer.alloc(5) }), { name: 'TypeError', message: /32 bytes/ });
  assert.throws(() => new verikit.Manager({ url: 'redis://127.0.0.1:6379' }), (e) => e instanceof verikit.ConfigError && /key/.test(e.message));
  for (const options of [{ url: 'memory://\0x' }, { keyPrefix: 'vk\0x' }, { url: 'memory://\ud800' }]) {
    assert.throws(() => new verikit.Manager(options), { name: 'InvalidArgumentError', code: 'VERIKIT_E_INVALID_ARGUMENT' });
  }
  for (const url of ['redis://host:notaport', 'redis://h?pool_size=0', 'postgres://x']) {
    assert.throws(() => new verikit.Manager({ url, key: Buffer.alloc(32) }), (e) => e.code === 'VERIKIT_E_CONFIG');
  }
  const port = await freePort();
  assert.throws(() => new verikit.Manager({ url: `redis://127.0.0.1:${port}`, key: Buffer.alloc(32) }),
    (e) => e instanceof verikit.StoreUnavailableError && /refused/.test(e.message));
});

// Every fault of the arguments is a rejection, never a synchronous throw that `.catch()` does
// not see: views other than a Buffer (a DataView once failed inside the conversion), options
// whose getter throws, a Proxy that throws.
test('argument faults reject, never throw synchronously', async () => {
  const m = new verikit.Manager();
  const views = [new DataView(new ArrayBuffer(4)), new Float64Array(2), new Uint16Array(2), new ArrayBuffer(4)];
  for (const v of views) {
    let p;
    assert.doesNotThrow(() => { p = m.issueOtp('login', v); }, v.constructor.name);
    await assert.rejects(p, { name: 'TypeError', message: /identifier must be a string or a Buffer/ }, v.constructor.name);
    assert.doesNotThrow(() => { p = m.verifyOtp('login', 'a', '123456', { clientKey: v }); });
    await assert.rejects(p, { name: 'TypeError', message: /clientKey must be a string or a Buffer/ });
    assert.doesNotThrow(() => { p = m.issueOtp('login', 'a', { binding: v }); });
    await assert.rejects(p, { name: 'TypeError', message: /binding must be a string or a Buffer/ });
  }
  const boom = new Error('from a getter');
  const getter = { get binding() { throw boom; } };
  const proxy = new Proxy({}, { get() { throw boom; } });
  for (const options of [getter, proxy]) {
    let p;
    assert.doesNotThrow(() => { p = m.issueOtp('login', 'a', options); });
    await assert.rejects(p, (e) => e === boom);
    assert.doesNotThrow(() => { p = m.verifyOtp('login', 'a', '123456', options); });
    await assert.rejects(p, (e) => e === boom);
  }
  assert.equal((await m.inspect('login', 'a')).status, 'not_found', 'nothing was issued');
  const bytes = new Uint8Array([0x61, 0x62]);  // a plain Uint8Array is bytes, as a Buffer
  assert.equal((await m.issueOtp('login', bytes)).identifier, 'ab');
  m.close();
});
