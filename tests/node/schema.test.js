'use strict';
// Statuses and error classes come from the core's schema (issue 23): every kind the core names
// has its class, extending its parent's; a code without a class is a plain VerikitError; the
// type declarations and the ES module name each of them.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { verikit } = require('./helpers');

const PKG = path.dirname(require.resolve(path.join(process.env.VERIKIT_NODE_PKG || path.join(__dirname, '..', '..'), 'package.json')));

function nativeModule() {  // the addon the package loaded, wherever the package keeps it
  const found = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'verikit.node') found.push(p);
    }
  };
  walk(PKG);
  assert.ok(found.length > 0, 'the package has its addon');
  return require(found.find((p) => require.cache[p]) ?? found[0]);
}
const native = nativeModule();

test('every error kind of the schema has its class with the schema parent', async () => {
  assert.deepEqual(native.errorKinds.map((k) => k.code), [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10]);
  const byCode = Object.fromEntries(native.errorKinds.map((k) => [k.code, k]));
  for (const kind of native.errorKinds) {
    if (!kind.className) continue;
    const Class = verikit[kind.className];
    assert.equal(typeof Class, 'function', kind.className);
    assert.equal(Class.name, kind.className);
    const Parent = kind.parent ? verikit[byCode[kind.parent].className] : verikit.VerikitError;
    assert.equal(Object.getPrototypeOf(Class), Parent, `${kind.className} extends ${Parent.name}`);
  }
  assert.ok(new verikit.TimeoutError('x') instanceof verikit.StoreUnavailableError);
  // A real fault carries the class and the C name of its code.
  await assert.rejects(async () => new verikit.Manager({ key: verikit.generateKey(), keyId: 300 }),
    (e) => e instanceof verikit.InvalidArgumentError && e.code === 'VERIKIT_E_INVALID_ARGUMENT' &&
      e.name === 'InvalidArgumentError');
});

test('statuses are the schema with its ok column, and results agree with it', async () => {
  assert.deepEqual(Object.keys(verikit.statuses), native.statuses.map((s) => s.name));
  for (const [name, s] of Object.entries(verikit.statuses)) assert.equal(s.ok, ['verified', 'valid', 'issued'].includes(name));
  const m = new verikit.Manager({ abuseControls: false });
  const issued = await m.issueOtp('login', 'schema@x');
  const wrong = await m.verifyOtp('login', 'schema@x', issued.secret === '000000' ? '111111' : '000000');
  for (const r of [issued, wrong]) assert.equal(r.ok, verikit.statuses[r.status].ok);
  m.close();
});

test('the type declarations and the ES module name every status and class', async () => {
  const dts = fs.readFileSync(path.join(PKG, 'bindings', 'node', 'index.d.ts'), 'utf8');
  const byCode = Object.fromEntries(native.errorKinds.map((k) => [k.code, k]));
  for (const kind of native.errorKinds.filter((k) => k.className)) {
    const parent = kind.parent ? byCode[kind.parent].className : 'VerikitError';
    assert.match(dts, new RegExp(`export class ${kind.className} extends ${parent} \\{`), kind.className);
  }
  for (const s of native.statuses) assert.match(dts, new RegExp(`'${s.name}'`), s.name);
  const esm = await import(path.join(PKG, 'bindings', 'node', 'index.mjs'));
  for (const kind of native.errorKinds.filter((k) => k.className)) assert.equal(esm[kind.className], verikit[kind.className]);
  assert.equal(esm.statuses, verikit.statuses);
});

test('the Policy type declares every field of the schema, with its type and choices', () => {
  const dts = fs.readFileSync(path.join(PKG, 'bindings', 'node', 'index.d.ts'), 'utf8');
  const body = dts.match(/export interface Policy \{([\s\S]*?)\n\}/);
  assert.ok(body, 'index.d.ts declares interface Policy');
  const declared = Object.fromEntries([...body[1].matchAll(/^\s*(\w+)\?: ([^;]+);/gm)].map((m) => [m[1], m[2].trim()]));
  const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  const expected = {};
  for (const f of native.policyFields) {
    const type = { integer: 'number', seconds: 'number', boolean: 'boolean', text: 'string', rate_limit: 'RateLimit | false' }[f.type]
      ?? f.choices.split('|').map((c) => `'${camel(c)}'`).join(' | ');
    expected[camel(f.name)] = type;
  }
  assert.ok(native.policyFields.length > 20, 'the schema is read');
  assert.deepEqual(declared, expected);
});

// Engine options (issue 23): every Manager option other than the store, key material and
// policies goes to the core by name; the type declarations name each option of the schema.
const TYPED = new Set(['url', 'store', 'key', 'keyId', 'previousKeys', 'indexKey', 'policy', 'policies']);
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
// Text options whose values are words (declared as a union of them), not any text of their length.
const WORDS = { key_check: ['create', 'require', 'off'] };

test('ManagerOptions declares every engine option of the schema, with its type', () => {
  const dts = fs.readFileSync(path.join(PKG, 'bindings', 'node', 'index.d.ts'), 'utf8');
  const body = dts.match(/export interface ManagerOptions \{([\s\S]*?)\n\}/);
  assert.ok(body, 'index.d.ts declares interface ManagerOptions');
  const declared = Object.fromEntries([...body[1].matchAll(/^\s*(\w+)\?: ([^;]+);/gm)]
    .filter((m) => !TYPED.has(m[1])).map((m) => [m[1], m[2].trim()]));
  const expected = {};
  for (const o of native.configOptions) {
    expected[camel(o.name)] = WORDS[o.name] ? WORDS[o.name].map((w) => `'${w}'`).join(' | ')
      : { text: 'string', boolean: 'boolean', integer: 'number', list: 'string[]' }[o.type];
  }
  assert.ok(native.configOptions.length >= 6, 'the schema is read');
  assert.deepEqual(declared, expected);
});

test('every engine option reaches the core, strictly typed; an unknown one is refused', () => {
  for (const o of native.configOptions) {
    const name = camel(o.name);
    const good = WORDS[o.name] ? WORDS[o.name][0] : { text: 'x'.repeat(o.min), boolean: true, integer: o.min, list: [] }[o.type];
    new verikit.Manager({ [name]: good }).close();
    const bad = { text: 'x'.repeat(o.max + 1), integer: o.max + 1, list: Array(o.max + 1).fill('https://a.example') }[o.type];
    if (bad === undefined) continue;
    assert.throws(() => new verikit.Manager({ [name]: bad }), (e) => e instanceof verikit.ConfigError &&
      e.message.includes(o.name) && e.message.includes(`(option '${name}')`), name);
  }
  assert.throws(() => new verikit.Manager({ linkOrigin: ['https://a.example'] }),
    { name: 'InvalidArgumentError', message: /unknown configuration option 'link_origin' \(option 'linkOrigin'\)/ });
  for (const options of [{ abuseControls: 0 }, { linkAllowHttp: 'yes' }, { eventsIncludeIdentifier: 1 },
    { eventQueueCapacity: '8' }, { eventQueueCapacity: true }, { eventQueueCapacity: NaN }, { keyPrefix: 5 },
    { linkOrigins: 'https://a.example' }, { linkOrigins: [5] }]) {
    assert.throws(() => new verikit.Manager(options), TypeError, JSON.stringify(options));
  }
  assert.throws(() => new verikit.Manager({ eventQueueCapacity: 2 ** 70 }), { name: 'ConfigError', message: /event_queue_capacity must be 1 to 1048576/ });
  assert.throws(() => new verikit.Manager({ keyPrefix: 'a b' }), { name: 'ConfigError', message: /key_prefix must be printable ASCII/ });
  assert.throws(() => new verikit.Manager({ keyCheck: 'never' }), { name: 'ConfigError', message: /key_check must be create, require or off/ });
  assert.throws(() => new verikit.Manager({ linkOrigins: ['https://a.example,https://b.example'] }), { name: 'InvalidArgumentError', message: /linkOrigins/ });
});

test('engine options take effect', async () => {
  const m = new verikit.Manager({ abuseControls: false, linkOrigins: ['https://a.example'], keyPrefix: undefined });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await m.issueOtp('login', 'opt@x')).status, 'issued');  // no cooldown
    assert.equal((await m.issueLink('login', 'opt@x', 'https://a.example/v')).status, 'issued');
    await assert.rejects(m.issueLink('login', 'opt@x', 'https://b.example/v'), verikit.InvalidArgumentError);
  } finally {
    m.close();
  }
});
