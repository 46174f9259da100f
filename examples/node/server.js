'use strict';
// A small node:http sign-up app: an e-mailed code and a magic link whose GET page asks for
// confirmation (link scanners only peek) and whose POST consumes it.
//   node examples/node/server.js [port] [store-url]
// GET /outbox lists the "e-mails" as JSON (a real app would send them).
const http = require('node:http');
const verikit = require(process.env.VERIKIT_NODE_PKG || 'verikit');

const port = Number(process.argv[2] || 8080);
const url = process.argv[3] || 'memory://';
const manager = new verikit.Manager({
  url,
  key: url === 'memory://' ? verikit.generateKey() : Buffer.alloc(32),  // demo only: use a real secret
  policies: {
    signup: { trimIdentifier: true, lowercaseIdentifier: true },
    'signup-link': { trimIdentifier: true, lowercaseIdentifier: true, ttl: 3600 },
  },
  // Links go only to this origin (a forged Host header cannot redirect them); http is for this
  // local demo only: production links are https.
  linkOrigins: [`http://127.0.0.1:${port}`],
  linkAllowHttp: true,
});
const outbox = [];
const escape = (s) => s.replace(/[&<>'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(data))));
  });
}

const server = http.createServer(async (req, res) => {
  const send = (code, text, type = 'text/plain') => { res.writeHead(code, { 'Content-Type': type }); res.end(text); };
  const u = new URL(req.url, `http://127.0.0.1:${port}`);
  try {
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
      const code = await manager.issueOtp('signup', form.email || '', { clientKey: req.socket.remoteAddress });
      if (!code.ok) return send(429, `${code.status}: retry in ${Math.ceil(code.retryAfter / 1000)} s`);
      const link = await manager.issueLink('signup-link', form.email, `http://127.0.0.1:${port}/magic`);
      outbox.push({ to: form.email, code: code.secret, link: link.url });
      return send(202, 'check your e-mail');
    }
    if (u.pathname === '/verify') {
      const r = await manager.verifyOtp('signup', form.email || '', form.code || '', { clientKey: req.socket.remoteAddress });
      return send(r.ok ? 200 : 401, r.status);
    }
    if (u.pathname === '/magic') {
      const r = await manager.consumeLink(form.token || '', 'signup-link');
      return send(r.ok ? 200 : 410, `${r.status} ${r.identifier}`);
    }
    return send(404, 'not found');
  } catch (e) {
    if (e instanceof verikit.InvalidArgumentError || e instanceof TypeError) return send(400, e.message);
    return send(503, `try again later (${e.name})`);
  }
});

server.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => { server.close(); manager.close(); });
