'use strict';
// The two web examples (examples/python/webapp.py, examples/node/server.js) driven in headless
// Chromium (Debian's) through puppeteer-core, two browser profiles at once: A asks for a magic
// link and opens it (signed in); a second link opened in B (another profile: not signed in, shown
// the cross-device fallback), whose code typed on A signs A in and not B. Run by
// scripts/test_e2e.sh, which installs Chromium, puppeteer-core and the two packages.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const puppeteer = require('puppeteer-core');
const { freePort } = require('../node/helpers');  // needs VERIKIT_NODE_PKG, as the Node example does

const ROOT = path.join(__dirname, '..', '..');
const CHROMIUM = process.env.VERIKIT_CHROMIUM || '/usr/bin/chromium';
const PYTHON = process.env.VERIKIT_PYTHON;  // the venv where scripts/test_python.sh installed verikit

// Starts an example on a free loopback port; resolves once it prints "listening".
async function startExample(argv) {
  const port = await freePort();
  const proc = spawn(argv[0], [...argv.slice(1), String(port)],
    { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited (${code}) before listening`)));
    proc.stdout.on('data', (chunk) => { if (String(chunk).includes('listening')) resolve(); });
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => { proc.kill('SIGTERM'); } };
}

// One browser profile: its own user-data dir (cookies), removed on close.
async function launchProfile(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `verikit-e2e-${name}-`));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: dir,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],  // root in CI: no sandbox
  });
  const page = await browser.newPage();
  return {
    browser, page,
    close: async () => { await browser.close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

const text = (page) => page.$eval('body', (b) => b.innerText);

// Clicks a form's button and returns the response of the page it loads.
async function submit(page, selector) {
  await page.bringToFront();  // a click goes to the tab in front
  const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return response;
}

async function whoIs(profile, base) {
  await profile.page.goto(`${base}/`);
  return profile.page.$eval('#who', (p) => p.textContent);
}

async function signUp(profile, base, email) {
  await profile.page.goto(`${base}/`);
  await profile.page.type('form[action="/signup"] input[name=email]', email);
  const response = await submit(profile.page, 'form[action="/signup"] button');
  assert.equal(response.status(), 202, await text(profile.page));
  // The test reads the "e-mail" from the example's demo-only outbox, as a user reads their mail.
  const outbox = await (await fetch(`${base}/outbox`)).json();
  const mail = outbox.filter((m) => m.to === email).at(-1);
  assert.ok(mail, `no mail to ${email}`);
  return mail.link;
}

async function cookieNames(profile) {
  return (await profile.page.cookies()).map((c) => c.name).sort();
}

async function scenario(base) {
  const a = await launchProfile('a');
  const b = await launchProfile('b');
  try {
    assert.equal(await whoIs(a, base), 'Not signed in');

    // Same device: A asks for a link and opens it.
    const first = await signUp(a, base, 'ana@example.com');
    assert.deepEqual(await cookieNames(a), ['vk_flow'], 'A holds its flow cookie');
    const tab = await a.browser.newPage();  // the same link in a second tab of A, for the reuse check below
    for (const page of [a.page, tab]) {
      const shown = await page.goto(first);
      assert.equal(shown.status(), 200);
      assert.match(await text(page), /Confirm sign-up for ana@example\.com/);
    }
    const used = await submit(a.page, 'form[action="/magic"] button');
    assert.equal(used.status(), 200, 'same browser: the link signs in');
    assert.match(await text(a.page), /^verified ana@example\.com$/i);
    assert.deepEqual(await cookieNames(a), ['vk_flow', 'vk_session']);
    assert.equal(await whoIs(a, base), 'Signed in as ana@example.com');

    // Used once: the second tab's confirm button, and the link opened again, are refused.
    const again = await submit(tab, 'form[action="/magic"] button');
    assert.equal(again.status(), 410, 'a link cannot be used twice');
    assert.match(await text(tab), /expired or was used/);
    await tab.close();
    assert.equal((await b.page.goto(first)).status(), 410, 'nor opened after use, in any browser');

    // Cross device: a fresh link asked for on A, opened in B.
    const second = await signUp(a, base, 'bo@example.com');
    assert.equal((await b.page.goto(second)).status(), 200, 'the GET page only peeks');
    assert.match(await text(b.page), /Confirm sign-up for bo@example\.com/);
    const refused = await submit(b.page, 'form[action="/magic"] button');
    assert.equal(refused.status(), 403, 'another browser: not signed in');
    assert.match(await text(b.page), /opened in another browser/);
    assert.deepEqual(await cookieNames(b), [], 'B got no session');
    await signUp(b, base, 'cy@example.com');  // B's own flow cookie is not A's either
    await b.page.goto(second);
    assert.equal((await submit(b.page, 'form[action="/magic"] button')).status(), 403, 'another flow: not signed in');
    assert.deepEqual(await cookieNames(b), ['vk_flow'], 'B got no session');
    const codePage = await submit(b.page, 'form[action="/magic/code"] button');
    assert.equal(codePage.status(), 200, 'the fallback: a code to type on the browser that asked');
    const code = await b.page.$eval('#code', (el) => el.textContent);
    assert.match(code, /^[0-9]{6}$/);
    assert.equal(await whoIs(b, base), 'Not signed in');

    // A types it: signed in as bo@example.com; B still not.
    await a.page.goto(`${base}/`);
    await a.page.type('form[action="/fallback"] input[name=email]', 'bo@example.com');
    await a.page.type('form[action="/fallback"] input[name=code]', code);
    const typed = await submit(a.page, 'form[action="/fallback"] button');
    assert.equal(typed.status(), 200, await text(a.page));
    assert.match(await text(a.page), /^verified$/i);
    assert.equal(await whoIs(a, base), 'Signed in as bo@example.com');
    assert.equal(await whoIs(b, base), 'Not signed in');
    assert.equal((await b.page.goto(second)).status(), 410, 'the fallback used the link');
  } finally {
    await a.close();
    await b.close();
  }
}

const examples = [
  ['Python example (examples/python/webapp.py)', () => [PYTHON, path.join(ROOT, 'examples', 'python', 'webapp.py')]],
  ['Node example (examples/node/server.js)',
    () => [process.execPath, path.join(ROOT, 'examples', 'node', 'server.js')]],
];
for (const [name, argv] of examples) {
  test(name, { timeout: 60000 }, async () => {
    assert.ok(PYTHON && fs.existsSync(PYTHON), 'VERIKIT_PYTHON must name the venv python (run scripts/test_e2e.sh)');
    const app = await startExample(argv());
    try {
      await scenario(app.base);
    } finally {
      app.stop();
    }
  });
}
