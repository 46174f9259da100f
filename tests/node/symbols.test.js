'use strict';
// The installed addon calls the C API (verikit.h) and nothing else of the core: it imports no
// symbol of the core but verikit_*, links libverikit (not the core's own dependencies), and
// finds that library next to itself ($ORIGIN), as installed by npm.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { PKG } = require('./helpers');

const release = path.join(PKG, 'build', 'node', 'Release');
const addon = path.join(release, 'verikit.node');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// `nm -D` lines: "                 U name@VERSION" (undefined) or "addr T name" (defined).
function dynamicSymbols(file, which) {
  return run('nm', ['-D', which, file]).split('\n').map((l) => l.trim().split(/\s+/).pop()).filter(Boolean)
    .map((s) => s.replace(/@.*$/, ''));
}

test('the addon imports only verikit_* from the core', () => {
  assert.ok(fs.existsSync(addon), `no addon at ${addon}`);
  const undefinedSyms = dynamicSymbols(addon, '--undefined-only');
  // Of the core: anything naming verikit (C++ mangled _ZN7verikit..., or any other spelling) that
  // is not a C API function; and the core's own dependencies, which only the core's code calls
  // (their presence would mean the core was linked into the addon).
  const core = undefinedSyms.filter((s) => (/verikit/i.test(s) && !/^verikit_[a-z0-9_]+$/.test(s)) ||
    /^(sodium_|crypto_|randombytes_|redis[A-Z]|SSL_|EVP_|OPENSSL_)/.test(s));
  assert.deepEqual(core, [], `the addon references symbols of the core: ${core.join(' ')}`);
  const capi = undefinedSyms.filter((s) => s.startsWith('verikit_'));
  assert.ok(capi.includes('verikit_engine_new') && capi.includes('verikit_otp_verify_async') &&
    capi.includes('verikit_result_status'), `the addon does not call the C API: ${capi.join(' ')}`);
  // Every one of them is exported by the library shipped next to it.
  const exported = new Set(dynamicSymbols(path.join(release, 'libverikit.so.0'), '--defined-only'));
  assert.deepEqual(capi.filter((s) => !exported.has(s)), []);
  // No symbol of the core is defined inside the addon either (a static copy of the core).
  const defined = dynamicSymbols(addon, '--defined-only').filter((s) => /verikit/i.test(s));
  assert.deepEqual(defined, []);
});

test('the addon links libverikit and finds it next to itself', () => {
  const dyn = run('readelf', ['-d', addon]);
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  assert.ok(needed.includes('libverikit.so.0'), `NEEDED: ${needed.join(' ')}`);
  assert.deepEqual(needed.filter((n) => /sodium|hiredis|libssl|libcrypto/.test(n)), [], `NEEDED: ${needed.join(' ')}`);
  assert.match(dyn, /\((RUNPATH|RPATH)\)\s+Library (runpath|rpath): \[\$ORIGIN\]/);
  assert.ok(fs.existsSync(path.join(release, 'libverikit.so.0')));
  // And the loader resolves it there, not from some other installed copy.
  const ldd = run('ldd', [addon]);
  assert.match(ldd, new RegExp(`libverikit\\.so\\.0 => ${release.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/libverikit\\.so\\.0`));
});
