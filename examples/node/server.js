'use strict';
// A small node:http sign-up app: an e-mailed code and a magic link, both bound to the browser
// that asked for them (flow binding: a random value in its cookie). The link's GET page asks for
// confirmation (link scanners only peek); its POST consumes the link with this browser's cookie.
// Opened in another browser, the link offers the cross-device fallback: a short code shown there,
// typed on the browser that asked, which then uses the link with its own cookie. A verified code or
// link signs the browser in (a session cookie; GET / says who it is).
//   node examples/node/server.js [port] [store-url]
// GET /, /magic; POST /signup, /verify, /magic, /magic/code, /fallback (the same routes as
// examples/python/webapp.py). GET /outbox is DEMO ONLY: the "e-mails" as JSON, for the tests (a
// real app sends them and has no such page: it would hand every code to anyone).
const crypto = require('node:crypto');
const http = require('node:http');
const verikit = require(process.env.VERIKIT_NODE_PKG || 'verikit');

const port = Number(process.argv[2] || 8080);
const url = process.argv[3] || 'memory://';
const normalised = { trimIdentifier: true, lowercaseIdentifier: true };
const manager = new verikit.Manager({
  url,
  key: url === 'memory://' ? verikit.generateKey() : Buffer.alloc(32),  // demo only: use a real secret
  policies: {
    signup: normalised,
    'signup-link': { ...normalised, ttl: 3600 },
    'signup-fallback': { ...normalised, ttl: 300, maxAttempts: 3 },
  },
  // Links go only to this origin (a forged Host header cannot redirect them); http is for this
  // local demo only: production links are https.
  linkOrigins: [`http://127.0.0.1:${port}`],
  linkAllowHttp: true,
});
const outbox = [];
const sessions = new Map();  // session id -> e-mail (a real app has its framework's sessions)
const escape = (s) => s.replace(/[&<>'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const FLOW_COOKIE = 'vk_flow', SESSION_COOKIE = 'vk_session';
// production: add Secure (https)
const setCookie = (name, value) => `${name}=${value}; HttpOnly; SameSite=Lax; Path=/`;
const codeForm = (action, label) => `<form method=post action=${action}><input name=email placeholder=e-mail> ` +
  `<input name=code placeholder=code autocomplete=off> <button>${label}</button></form>`;

// The POSTed form, up to 64 KiB: a larger one rejects with a RangeError (413), a request cut
// short with an Error (the promise never hangs).
function body(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 65536) {
        req.removeAllListeners('data');
        req.resume();  // (the rest is read and dropped)
        reject(new RangeError('the form is too large'));
      }
    });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(data))));
    req.on('error', reject);
    req.on('close', () => reject(new Error('the request was cut short')));  // (after end: no effect)
  });
}

function cookieOf(req, wanted) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === wanted && value) return value;
  }
  return undefined;
}
// This browser's flow value (the binding of what it asked for), or undefined.
const flowOf = (req) => cookieOf(req, FLOW_COOKIE);

const server = http.createServer(async (req, res) => {
  const send = (code, text, type = 'text/plain', headers = {}) => {
    res.writeHead(code, { 'Content-Type': type, ...headers });
    res.end(text);
  };
  // A verified result signs this browser in: a new session cookie.
  const signedIn = (r, text) => {
    if (!r.ok) return send(401, r.status);
    const session = crypto.randomBytes(32).toString('base64url');
    sessions.set(session, r.identifier);
    return send(200, text, 'text/plain', { 'Set-Cookie': setCookie(SESSION_COOKIE, session) });
  };
  try {
    const u = new URL(req.url, `http://127.0.0.1:${port}`);  // (a URL it cannot read: a TypeError, 400)
    if (req.method === 'GET' && u.pathname === '/') {
      const who = sessions.get(cookieOf(req, SESSION_COOKIE));
      return send(200, `<p id=who>${who ? `Signed in as ${escape(who)}` : 'Not signed in'}</p>` +
        '<form method=post action=/signup><input name=email placeholder=e-mail> ' +
        '<button>Send a code and a link</button></form>' + codeForm('/verify', 'Verify the e-mailed code') +
        codeForm('/fallback', 'Use the code shown on the other device'),
      'text/html');
    }
    // DEMO ONLY (see above)
    if (req.method === 'GET' && u.pathname === '/outbox') return send(200, JSON.stringify(outbox), 'application/json');
    if (req.method === 'GET' && u.pathname === '/magic') {
      const token = u.searchParams.get('token') || '';
      if (!token) return send(400, 'missing token');
      const seen = await manager.peekLink(token, 'signup-link');
      if (!seen.ok) return send(410, 'this link has expired or was used');
      return send(200, `<form method=post action=/magic><input type=hidden name=token value='${escape(token)}'>` +
        `<button>Confirm sign-up for ${escape(seen.identifier)}</button></form>`, 'text/html');
    }
    if (req.method !== 'POST') return send(404, 'not found');
    const form = await body(req);
    if (u.pathname === '/signup') {
      const flow = crypto.randomBytes(32).toString('base64url');  // kept only in this browser's cookie
      const code = await manager.issueOtp('signup', form.email || '', { clientKey: req.socket.remoteAddress, binding: flow });
      if (!code.ok) return send(429, `${code.status}: retry in ${Math.ceil(code.retryAfter / 1000)} s`);
      const link = await manager.issueLink('signup-link', form.email, `http://127.0.0.1:${port}/magic`, { binding: flow });
      outbox.push({ to: form.email, code: code.secret, link: link.url });
      return send(202, 'check your e-mail', 'text/plain', { 'Set-Cookie': setCookie(FLOW_COOKIE, flow) });
    }
    if (u.pathname === '/verify') {
      const r = await manager.verifyOtp('signup', form.email || '', form.code || '',
        { clientKey: req.socket.remoteAddress, binding: flowOf(req) });
      return signedIn(r, r.status);
    }
    if (u.pathname === '/magic') {
      const token = form.token || '';
      const flow = flowOf(req);
      if (flow !== undefined) {  // same device: the link is used only with this browser's flow
        const r = await manager.consumeLink(token, 'signup-link', { binding: flow });
        if (r.ok) return signedIn(r, `${r.status} ${r.identifier}`);
      }
      if (!(await manager.peekLink(token, 'signup-link')).ok) return send(410, 'this link has expired or was used');
      // Live, but asked for by another browser: offer the cross-device fallback.
      return send(403, '<p>This link was opened in another browser than the one that asked for it.</p>' +
        `<form method=post action=/magic/code><input type=hidden name=token value='${escape(token)}'>` +
        '<button>Show a code to type there</button></form>', 'text/html');
    }
    if (u.pathname === '/magic/code') {
      const token = form.token || '';
      const seen = await manager.peekLink(token, 'signup-link');
      if (!seen.ok) return send(410, 'this link has expired or was used');
      // The code carries the link (sealed in the store) to the browser that asked.
      const code = await manager.issueOtp('signup-fallback', seen.identifier, { payload: token });
      if (!code.ok) return send(429, `${code.status}: retry in ${Math.ceil(code.retryAfter / 1000)} s`);
      return send(200, `<p>Type <b id=code>${code.secret}</b> on the device where you asked to sign up. ` +
        'If you did not ask, ignore this.</p>', 'text/html');
    }
    if (u.pathname === '/fallback') {
      let r = await manager.verifyOtp('signup-fallback', form.email || '', form.code || '', { clientKey: req.socket.remoteAddress });
      // The right code: now the link itself, with this browser's flow (not anyone's).
      if (r.ok) r = await manager.consumeLink(r.payload.toString(), 'signup-link', { binding: flowOf(req) });
      return signedIn(r, r.status);
    }
    return send(404, 'not found');
  } catch (e) {
    if (e instanceof verikit.InvalidArgumentError || e instanceof TypeError) return send(400, e.message);
    if (e instanceof RangeError) return send(413, e.message);
    return send(503, `try again later (${e.name})`);
  }
});

server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => { server.close(); manager.close(); });
