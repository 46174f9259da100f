'use strict';
// The shared table of magic-link base URLs (tests/data/link_urls.tsv), through the Node binding:
// every URL the engine builds parses with WHATWG URL, carries the token parameter exactly once
// with the token as its value, and points to an allowed origin; every refused base rejects with
// InvalidArgumentError and issues nothing.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { verikit } = require('./helpers');

function load() {
  let origins = [];
  const cases = [];
  for (const line of fs.readFileSync(path.join(__dirname, '..', 'data', 'link_urls.tsv'), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cols = line.split('\t');
    if (cols[0] === 'origins') origins = cols[1].split(' ');
    else cases.push({ base: cols[0], expected: cols[1], message: cols[2] ?? '' });
  }
  return { origins, cases };
}

const { origins, cases } = load();
const allowed = new Set(origins.map((o) => new URL(o).origin));

test('every base URL of the table', async () => {
  assert.ok(cases.length >= 50);
  const m = new verikit.Manager({ abuseControls: false, linkOrigins: origins, linkAllowHttp: true });
  try {
    for (const c of cases) {
      if (c.expected === 'refused') {
        await assert.rejects(m.issueLink('login', 'ann@example.com', c.base),
          (err) => err instanceof verikit.InvalidArgumentError && err.message.includes('base URL') &&
            err.message.includes(c.message), c.base);
        continue;
      }
      const r = await m.issueLink('login', 'ann@example.com', c.base);
      assert.equal(r.url, c.expected.replace('{t}', r.secret), c.base);
      const u = new URL(r.url);
      assert.ok(allowed.has(u.origin), `${c.base}: ${u.origin}`);
      assert.deepEqual(u.searchParams.getAll('token'), [r.secret], c.base);
      assert.equal((await m.peekLink(r.secret, 'login')).status, 'valid');
    }
  } finally {
    m.close();
  }
});

test('http only when allowed; origins are checked at construction', async () => {
  const m = new verikit.Manager({ abuseControls: false });
  try {
    await assert.rejects(m.issueLink('login', 'a@example.com', 'http://localhost:8080/v'),
      { name: 'InvalidArgumentError', message: /https only/ });
    assert.match((await m.issueLink('login', 'a@example.com', 'https://any.example/v')).url, /^https:\/\/any\.example\/v\?token=/);
  } finally {
    m.close();
  }
  assert.throws(() => new verikit.Manager({ linkOrigins: ['http://localhost:8080'] }), { name: 'ConfigError', message: /link_allow_http/ });
  assert.throws(() => new verikit.Manager({ linkOrigins: 'https://example.com' }), { name: 'TypeError' });
});
