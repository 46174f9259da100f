'use strict';
// verikit for Node.js: a Promise API over the native engine. Every call returns a Promise and
// never blocks the event loop; faults reject with VerikitError subclasses that carry a `code`.
// The addon: built here by cmake-js, or the tarball's prebuild for this platform (addon.js).
const native = require('./addon').load();

/** The base of every verikit fault; `code` is the C name of the code ("VERIKIT_E_CONFIG", ...). */
class VerikitError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

// One subclass per error kind of the core's schema (verikit_error_kind), extending its parent's
// class (the schema lists parents first); codes without a class of their own are VerikitError.
const errorClasses = {};
const classByCode = {};
for (const kind of native.errorKinds) {
  if (!kind.className) continue;
  const Parent = kind.parent ? classByCode[kind.parent] : VerikitError;
  const named = { [kind.className]: class extends Parent {} };
  classByCode[kind.code] = errorClasses[kind.className] = named[kind.className];
}
native.setErrorClasses(VerikitError, classByCode);

// Result objects: one object literal, so every result has the same shape (the addon calls this
// with the values in the order of native.resultFields, checked here once).
const RESULT_FIELDS = ['status', 'ok', 'secret', 'url', 'purpose', 'identifier', 'payload', 'expiresAt',
  'attemptsRemaining', 'retryAfter', 'activeTokens', 'counters', 'reused', 'replicasConfirmed'];
if (native.resultFields.join() !== RESULT_FIELDS.join()) throw new Error('verikit: the addon and index.js disagree on result fields');
native.setResultFactory((status, ok, secret, url, purpose, identifier, payload, expiresAt, attemptsRemaining, retryAfter,
  activeTokens, counters, reused, replicasConfirmed) => ({
  status, ok, secret, url, purpose, identifier, payload, expiresAt, attemptsRemaining, retryAfter, activeTokens, counters,
  reused, replicasConfirmed,
}));

/** The statuses of the core's schema: name -> { value, ok, doc }. */
const statuses = Object.freeze(Object.fromEntries(native.statuses.map(
  (s, value) => [s.name, Object.freeze({ value, ok: s.ok, doc: s.doc })])));

/**
 * The purpose argument that accepts a token or link of any purpose. Checking a token or link
 * always names a purpose; this is the explicit opt-in to skip that check.
 */
const ANY_PURPOSE = '*';

/**
 * A verification engine. `new Manager()` uses the embedded store; `new Manager({ url:
 * 'redis://127.0.0.1:6379', key })` uses Redis (the key: 32 secret bytes shared by every
 * process). Options: url | store, key, keyId, previousKeys ([[id, key]]), policy, policies,
 * indexKey (32 bytes: names records, does not rotate; required with previousKeys), keyPrefix,
 * abuseControls (default true).
 *
 * Every operation resolves to a result object, and objects are always truthy: check
 * `result.ok` (true only for verified, valid and issued) or `result.status`, never the result
 * itself. Token and link checks take the purpose the credential was issued for (required), or
 * ANY_PURPOSE.
 */
class Manager {
  constructor(options = {}) {
    if (typeof options === 'string') options = { url: options };
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object or a URL');
    const store = options.url ?? options.store;
    this._engine = new native.Engine(
      store,
      options.key ?? null,
      options.keyId,
      options.previousKeys ?? [],
      options.policy ?? {},
      options.policies ?? {},
      options.keyPrefix,
      options.abuseControls,
      options.indexKey ?? null,
    );
  }

  // --- one-time codes ---
  issueOtp(purpose, identifier, options) { return this._engine.issueOtp(purpose, identifier, options); }
  verifyOtp(purpose, identifier, code, options) { return this._engine.verifyOtp(purpose, identifier, code, options); }
  revokeOtp(purpose, identifier) { return this._engine.revokeOtp(purpose, identifier); }

  // --- tokens ---
  issueToken(purpose, identifier, options) { return this._engine.issueToken(purpose, identifier, options); }
  peekToken(token, purpose) { return this._engine.checkToken(token, purpose, false, false); }
  consumeToken(token, purpose) { return this._engine.checkToken(token, purpose, false, true); }
  revokeToken(token) { return this._engine.revokeToken(token, false); }

  // --- magic links ---
  issueLink(purpose, identifier, baseUrl, options) { return this._engine.issueLink(purpose, identifier, baseUrl, options); }
  peekLink(token, purpose) { return this._engine.checkToken(token, purpose, true, false); }
  consumeLink(token, purpose) { return this._engine.checkToken(token, purpose, true, true); }
  revokeLink(token) { return this._engine.revokeToken(token, true); }

  // --- per identifier ---
  revokeAll(purpose, identifier) { return this._engine.revokeAll(purpose, identifier); }
  inspect(purpose, identifier) { return this._engine.inspect(purpose, identifier); }
  unlock(purpose, identifier) { return this._engine.unlock(purpose, identifier); }

  /**
   * Releases the engine and its store connections, without blocking: later calls reject with
   * "the engine is closed"; operations still in flight settle with their answers, each exactly
   * once, and the engine is freed after the last one.
   */
  /** This engine's counters in the Prometheus text exposition format (serve it on /metrics). */
  metrics() { return this._engine.metrics(); }

  close() { this._engine.close(); }
}

module.exports = {
  Manager,
  Engine: Manager,
  ANY_PURPOSE,
  generateKey: () => native.generateKey(),
  version: native.version,
  statuses,
  VerikitError,
  ...errorClasses,
};
