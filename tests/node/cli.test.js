'use strict';
// `npx verikit`: the package's bin entry (bindings/node/cli.js) runs the verikit command-line
// program built with the addon (no second implementation), with arguments, stdio and the exit
// code passed through. Runs against the installed copy (scripts/test_node.sh).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { verikit, startRedis, KEY } = require('./helpers');

const project = process.env.VERIKIT_NODE_PROJECT;

// `npx --no -- verikit ...`: the installed bin only (never the registry), and every argument,
// --help included, for verikit rather than for npx.
function npx(args, env = {}, prefix = ['--no', '--']) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VERIKIT_')));
  return spawnSync('npx', [...prefix, 'verikit', ...args], { cwd: project, encoding: 'utf8', env: { ...clean, ...env } });
}

test('npx verikit --help lists the commands and the exit codes', () => {
  for (const p of [npx(['--help']), npx(['--help'], {}, [])]) {  // also as users type it: npx verikit --help
    assert.equal(p.status, 0, p.stderr);
    for (const text of ['keygen', 'doctor', 'inspect PURPOSE IDENTIFIER', 'bench URL', 'Exit codes']) {
      assert.ok(p.stdout.includes(text), `${text} in ${p.stdout}`);
    }
  }
  assert.equal(npx(['bench', '--help']).status, 0);
});

test('exit codes and output pass through', () => {
  assert.equal(npx([]).status, 2);
  const refused = npx(['unlock', 'login', 'a', '--key', '00']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--key is refused/);
  assert.match(npx(['keygen']).stdout, /^VERIKIT_KEY=[0-9a-f]{64}\n$/);
  assert.match(npx(['version']).stdout, new RegExp(`^verikit ${verikit.version.replace(/\./g, '\\.')} `));
});

test('inspect and revoke see what the application issued', async () => {
  const redis = await startRedis();
  const m = new verikit.Manager({ url: redis.url, key: KEY, keyPrefix: 'vk-nodecli' });
  try {
    await m.issueOtp('login', 'eve');
    const env = { VERIKIT_KEY: KEY.toString('hex'), VERIKIT_STORE: redis.url };
    const p = npx(['inspect', 'login', 'eve', '--prefix', 'vk-nodecli', '--json'], env);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).status, 'valid');
    assert.ok(!(p.stdout + p.stderr).includes(KEY.toString('hex')));
    assert.equal(npx(['revoke', 'login', 'eve', '--prefix', 'vk-nodecli'], env).status, 0);
    assert.equal(npx(['revoke', 'login', 'eve', '--prefix', 'vk-nodecli'], env).status, 1);
    assert.equal(npx(['doctor', redis.url]).status, 0);
  } finally {
    m.close();
    await redis.stop();
  }
});
