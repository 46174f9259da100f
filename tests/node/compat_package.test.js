'use strict';
// verikit/compat and verikit/compat/nest as an installed package exposes them: require and
// import give the same objects, the Nest module works with the real @nestjs/common, and the
// TypeScript declarations accept code written for redis-otp-manager and refuse misuse.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { compat, fromProject, project } = require('./compat_helpers');

const EXPORTS = [
  'OTPManager', 'RedisOtpManager', 'MemoryAdapter', 'RedisAdapter', 'buildVerificationLink', 'buildOtpDeliveryPayload',
  'buildTokenDeliveryPayload', 'buildVerificationResultLink', 'classifyVerificationError', 'getVerificationOutcome', 'OTPError',
  'OTPExpiredError', 'OTPInvalidError', 'OTPLockedError', 'OTPMaxAttemptsExceededError', 'OTPRateLimitExceededError',
  'OTPResendCooldownError', 'VerificationSecretAlreadyUsedError', 'VerificationSecretExpiredError', 'VerificationSecretInvalidError',
];

test('runs against an installed copy with node-redis and @nestjs/common', () => {
  assert.ok(project && fs.existsSync(path.join(project, 'node_modules', 'verikit', 'bindings', 'node', 'compat', 'index.js')),
    'VERIKIT_NODE_PROJECT must name a project with verikit installed (run scripts/test_node.sh)');
  assert.deepEqual(Object.keys(compat).sort(), [...EXPORTS].sort());
});

test('require and import of verikit/compat and verikit/compat/nest give the same objects', () => {
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import * as c from 'verikit/compat';
    import cd from 'verikit/compat';
    import { OTPModule, InjectOTPManager, OTP_MANAGER_OPTIONS } from 'verikit/compat/nest';
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    const cjs = require('verikit/compat');
    const nest = require('verikit/compat/nest');
    const same = ${JSON.stringify(EXPORTS)}.every((k) => c[k] === cjs[k] && cd[k] === cjs[k]);
    const m = new c.RedisOtpManager();
    const code = await m.generate('esm@example.com');
    console.log(same, OTPModule === nest.OTPModule, typeof InjectOTPManager, typeof OTP_MANAGER_OPTIONS,
      await m.verify('esm@example.com', code));
    m.close();`], { cwd: project, encoding: 'utf8' });
  assert.equal(esm.status, 0, esm.stderr);
  assert.equal(esm.stdout.trim(), 'true true function symbol true');
});

test('verikit/compat/nest: OTPModule.forRoot and forRootAsync provide the OTPManager; InjectOTPManager', async () => {
  const nest = fromProject('verikit/compat/nest');
  const root = nest.OTPModule.forRoot({ store: new compat.MemoryAdapter(), ttl: 30, maxAttempts: 3, devMode: true, isGlobal: true });
  assert.equal(root.module, nest.OTPModule);
  assert.equal(root.global, true);
  assert.deepEqual(root.exports, [compat.OTPManager]);
  const provided = root.providers[0];
  assert.equal(provided.provide, compat.OTPManager);
  const g = await provided.useValue.generate({ type: 'email', identifier: 'n@example.com' });
  assert.equal(await provided.useValue.verify({ type: 'email', identifier: 'n@example.com', otp: g.otp }), true);
  assert.equal(nest.OTPModule.forRoot({ store: new compat.MemoryAdapter(), ttl: 30, maxAttempts: 3 }).global, false);

  const token = Symbol('config');
  const later = nest.OTPModule.forRootAsync({
    imports: [], inject: [token], useFactory: (ttl) => ({ store: new compat.MemoryAdapter(), ttl, maxAttempts: 3 }),
  });
  const [options, managerProvider] = later.providers;
  assert.equal(options.provide, nest.OTP_MANAGER_OPTIONS);
  assert.deepEqual(options.inject, [token]);
  assert.deepEqual(managerProvider.inject, [nest.OTP_MANAGER_OPTIONS]);
  assert.ok(managerProvider.useFactory(options.useFactory(45)) instanceof compat.OTPManager);
  assert.throws(() => managerProvider.useFactory({ ttl: 45 }), /store must be a valid adapter object/);

  const decorator = nest.InjectOTPManager();
  assert.equal(typeof decorator, 'function');
  class Service { constructor(otp) { this.otp = otp; } }
  decorator(Service, undefined, 0);
  const { SELF_DECLARED_DEPS_METADATA } = fromProject('@nestjs/common/constants');
  assert.deepEqual(Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, Service), [{ index: 0, param: compat.OTPManager }]);
});

test('the TypeScript declarations accept code written for redis-otp-manager and catch misuse', () => {
  const good = `import {
  OTPManager, RedisAdapter, MemoryAdapter, RedisOtpManager, OTPInvalidError, classifyVerificationError,
  buildVerificationLink, buildTokenDeliveryPayload, getVerificationOutcome, type OTPFailedEvent,
} from 'verikit/compat';
import { OTPModule, InjectOTPManager } from 'verikit/compat/nest';
import { createClient } from 'redis';

const client = createClient({ url: 'redis://127.0.0.1:1' });
const failed: OTPFailedEvent[] = [];
const otp = new OTPManager({
  store: new RedisAdapter(client),
  ttl: 300, maxAttempts: 3, devMode: false,
  hashing: { secret: 'x', previousSecrets: ['y'] },
  rateLimit: { window: 60, max: 3, scope: 'intent_channel', algorithm: 'sliding_window' },
  lockout: { seconds: 300, afterAttempts: 3, appliesTo: 'both' },
  replayProtection: { enabled: true, ttl: 3600 },
  hooks: { onFailed: (e) => { failed.push(e); }, throwOnError: false },
  deliveryAdapter: { async send(p) { if (p.otp) console.log(p.credentialKind); } },
  auditAdapter: { record: (e) => { console.log(e.event); } },
});
async function flows(): Promise<string> {
  const g = await otp.generate({ type: 'email', identifier: 'a@b.c', intent: 'login' });
  const ok: true = await otp.verify({ type: 'email', identifier: 'a@b.c', intent: 'login', otp: g.otp ?? '' });
  const t = await otp.generateTokenAndSend({ type: 'email', identifier: 'a@b.c' }, { baseUrl: 'https://e.com' });
  try { await otp.verifyToken({ type: 'email', identifier: 'a@b.c', token: t.token ?? '' }); } catch (error) {
    if (error instanceof OTPInvalidError) return error.code + classifyVerificationError(error).kind;
    return getVerificationOutcome({ error });
  }
  const payload = buildTokenDeliveryPayload({ baseUrl: 'https://e.com', token: 't', identifier: 'i', expiresIn: 5 });
  const positional = new RedisOtpManager(new MemoryAdapter(), { baseUrl: 'https://e.com/m' });
  const code: string = await positional.generate('a@b.c');
  const valid: boolean = await positional.verify('a@b.c', code);
  const link: { token: string; url: string } = await positional.generateLink('a@b.c');
  const support: string[] = [...otp.supportCommandLine({ type: 'email', identifier: 'a@b.c', intent: 'login' }).otp, ...positional.supportCommandLine('a').flags];
  const key: string = otp.supportCommandLine({ type: 'email', identifier: 'a@b.c' }).env.VERIKIT_KEY + support.join(' ');
  return key + String(ok) + payload.link + buildVerificationLink({ baseUrl: 'https://e.com', token: 't', identifier: 'i' }) + valid + link.url;
}
const mod = OTPModule.forRoot({ store: new MemoryAdapter(), ttl: 30, maxAttempts: 3, isGlobal: true });
const inject: ParameterDecorator = InjectOTPManager();
flows().then(() => console.log(mod.module, inject));
`;
  const bad = `import { OTPManager, MemoryAdapter, RedisOtpManager, RedisAdapter } from 'verikit/compat';
const otp = new OTPManager({ store: new MemoryAdapter(), ttl: 30 });
const m = new OTPManager({ store: new MemoryAdapter(), ttl: 30, maxAttempts: 3, rateLimit: { window: 1, max: 1, scope: 'planet' } });
m.verify({ type: 'email', identifier: 'a' });
const b: false = m.verify({ type: 'email', identifier: 'a', otp: '1' });
const p = new RedisOtpManager();
const n: number = p.generate('a');
const lookalike = { get: async (k: string) => null, set: async (k: string, v: string) => 1, del: async (k: string) => 1, incr: async (k: string) => 1, expire: async (k: string, s: number) => 1 };
const a = new RedisAdapter(lookalike);
const fine = new RedisAdapter(lookalike, { url: 'redis://127.0.0.1:6379' });
`;
  for (const [name, text] of [['compat_good.ts', good], ['compat_bad.ts', bad]]) fs.writeFileSync(path.join(project, name), text);
  const cjs = `import compat = require('verikit/compat');
const m: compat.OTPManager = new compat.OTPManager({ store: new compat.MemoryAdapter(), ttl: 30, maxAttempts: 3 });
m.generate({ type: 'sms', identifier: '+1' }).then((r: compat.GenerateOTPResult) => console.log(r.expiresIn));
`;
  fs.writeFileSync(path.join(project, 'compat_cjs.cts'), cjs);
  const tsc = path.join(project, 'node_modules', '.bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck'];
  for (const file of ['compat_good.ts', 'compat_cjs.cts']) {
    const ok = spawnSync(tsc, [...flags, file], { cwd: project, encoding: 'utf8' });
    assert.equal(ok.status, 0, file + ok.stdout + ok.stderr);
  }
  const wrong = spawnSync(tsc, [...flags, 'compat_bad.ts'], { cwd: project, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stdout, /compat_bad\.ts\(2,\d+\): error TS2345: [^\n]*\n +Property 'maxAttempts' is missing/);
  assert.match(wrong.stdout, /compat_bad\.ts\(3,\d+\): error TS2322: Type '"planet"'/);
  assert.match(wrong.stdout, /compat_bad\.ts\(4,\d+\): error TS2345: [^\n]*\n +Property 'otp' is missing/);
  assert.match(wrong.stdout, /compat_bad\.ts\(5,\d+\): error TS2322: Type 'Promise<true>' is not assignable to type 'false'/);
  assert.match(wrong.stdout, /compat_bad\.ts\(7,\d+\): error TS2322: Type 'Promise<string>' is not assignable to type 'number'/);
  // a client without node-redis's settings (refused at run time) needs { url }, and only it
  assert.match(wrong.stdout, /compat_bad\.ts\(9,\d+\): error TS2345: [^\n]* is not assignable to parameter of type .RedisLikeClient./);
  assert.doesNotMatch(wrong.stdout, /compat_bad\.ts\(10,/);
});
