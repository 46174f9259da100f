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
  'attemptsRemaining', 'retryAfter', 'activeTokens', 'counters', 'reused', 'replicasConfirmed', 'codes', 'pending'];
if (native.resultFields.join() !== RESULT_FIELDS.join()) throw new Error('verikit: the addon and index.js disagree on result fields');
// The addon passes the status as its number (the index in native.statuses; `ok` undefined), an
// empty payload as null and the expiry as milliseconds since the epoch (null: none).
const STATUS_NAMES = native.statuses.map((s) => s.name);
const STATUS_OK = native.statuses.map((s) => s.ok);
native.setResultFactory((status, ok, secret, url, purpose, identifier, payload, expiresAt, attemptsRemaining, retryAfter,
  activeTokens, counters, reused, replicasConfirmed, codes, pending) => ({
  status: STATUS_NAMES[status], ok: STATUS_OK[status], secret, url, purpose, identifier,
  payload: payload === null ? Buffer.alloc(0) : payload, expiresAt: expiresAt === null ? null : new Date(expiresAt),
  attemptsRemaining, retryAfter, activeTokens,
  counters, reused, replicasConfirmed, codes, pending: pending === null ? '' : pending,
}));

/** The statuses of the core's schema: name -> { value, ok, doc }. */
const statuses = Object.freeze(Object.fromEntries(native.statuses.map(
  (s, value) => [s.name, Object.freeze({ value, ok: s.ok, doc: s.doc })])));

/**
 * The purpose argument that accepts a token or link of any purpose. Checking a token or link
 * always names a purpose; this is the explicit opt-in to skip that check.
 */
const ANY_PURPOSE = '*';

// Lifecycle event names: `${credential}.${kind}` (README: "Events"), and '*' for all of them.
const EVENT_CREDENTIALS = ['otp', 'token', 'link', 'all', 'second_factors', 'recovery_code', 'totp'];
const EVENT_KINDS = ['issued', 'verified', 'invalid', 'not_found', 'attempts_exhausted', 'locked', 'rate_limited',
  'cooldown', 'revoked', 'unlocked'];
const EVENT_NAMES = new Set(['*', ...EVENT_CREDENTIALS.flatMap((c) => EVENT_KINDS.map((k) => `${c}.${k}`))]);

// The function the engine's events arrive at (on the JS thread). It holds the listeners only,
// not the Manager, so a Manager nobody references can still be collected. A listener that
// throws does not stop the others: its error is reported with process.emitWarning.
function eventDispatcher(listeners) {
  return (event) => {
    for (const key of [event.name, '*']) {
      const set = listeners.get(key);
      if (set === undefined) continue;
      for (const fn of [...set]) {
        try {
          fn(event);
        } catch (err) {
          process.emitWarning(`a listener of ${event.name} threw: ${err instanceof Error ? err.stack : String(err)}`,
            { type: 'VerikitWarning', code: 'VERIKIT_EVENT_LISTENER' });
        }
      }
    }
  };
}

// Manager options that are not engine options: the store, key material and policies (typed).
const TYPED_OPTIONS = new Set(['url', 'store', 'key', 'keyId', 'previousKeys', 'indexKey', 'policy', 'policies']);

/**
 * A verification engine. `new Manager()` uses the embedded store; `new Manager({ url:
 * 'redis://127.0.0.1:6379', key })` uses Redis (the key: 32 secret bytes shared by every
 * process). Options: url | store, key, keyId, previousKeys ([[id, key]]), policy, policies,
 * indexKey (32 bytes: names records, does not rotate; required with previousKeys), and the
 * engine options of the core's schema (README: "Engine options"; an unknown one is an
 * InvalidArgumentError): keyPrefix, keyCheck ('create' by default, 'require' or 'off': README "Key check"),
 * abuseControls (default true), eventQueueCapacity (default 4096), eventsIncludeIdentifier
 * (default false), linkOrigins (the origins magic links may point to, 'https://host[:port]';
 * a base URL of another origin is refused; default: any https origin), linkAllowHttp (allow
 * http:// base URLs and origins, for development; default false).
 *
 * Every operation resolves to a result object, and objects are always truthy: check
 * `result.ok` (true only for verified, valid and issued) or `result.status`, never the result
 * itself. Token and link checks take the purpose the credential was issued for (required), or
 * ANY_PURPOSE.
 */
// The native engine's arguments from Manager options, and the listeners its events go to.
function engineArgs(options, listeners) {
  if (typeof options === 'string') options = { url: options };
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object or a URL');
  // Every other option is an engine option of the core's schema (native.configOptions:
  // keyPrefix, abuseControls, linkOrigins, ...), set by name there: an unknown one is its error.
  const engineOptions = {};
  for (const [name, value] of Object.entries(options)) if (!TYPED_OPTIONS.has(name)) engineOptions[name] = value;
  return [
    options.url ?? options.store,
    options.key ?? null,
    options.keyId,
    options.previousKeys ?? [],
    options.policy ?? {},
    options.policies ?? {},
    engineOptions,
    options.indexKey ?? null,
    eventDispatcher(listeners),
  ];
}

// (Manager.open's: the engine it made, instead of making one)
const OPENED = Symbol('verikit.opened');

class Manager {
  constructor(options = {}) {
    this._listeners = options?.[OPENED]?.listeners ?? new Map();
    this._engine = options?.[OPENED]?.engine ?? new native.Engine(...engineArgs(options, this._listeners));
  }

  /**
   * Resolves to a Manager like `new Manager(options)`, without blocking the event loop while
   * the engine is created: on Redis, connecting and the start-up checks (up to
   * the URL's connect_timeout_ms) run on libuv's thread pool. Rejects with the errors the constructor
   * would throw (bad options included).
   */
  static async open(options = {}) {
    const listeners = new Map();
    const engine = await native.Engine.open(...engineArgs(options, listeners));
    return new this({ [OPENED]: { engine, listeners } });
  }

  // --- lifecycle events ---
  /**
   * Calls `listener(event)` for every event named `name` ('otp.verified', 'link.issued', ...;
   * '*': all of them), on the JS thread, after the operation's Promise has been settled or soon
   * after. Events never keep the process alive. Returns this.
   */
  on(name, listener) {
    if (!EVENT_NAMES.has(name)) throw new TypeError(`unknown event name ${JSON.stringify(name)}: use '<${EVENT_CREDENTIALS.join('|')}>.<kind>' or '*'`);
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(listener);
    this._engine.setListening(true);
    return this;
  }

  /** Removes a listener added with on(name, listener). Returns this. */
  off(name, listener) {
    const set = this._listeners.get(name);
    if (set !== undefined && set.delete(listener) && set.size === 0) this._listeners.delete(name);
    this._engine.setListening(this._listeners.size > 0);
    return this;
  }

  /** [delivered, dropped]: events the engine handed over, and dropped (queue full or closing). */
  eventCounts() { return this._engine.eventCounts(); }

  // --- one-time codes ---
  issueOtp(purpose, identifier, options) { return this._engine.issueOtp(purpose, identifier, options); }
  verifyOtp(purpose, identifier, code, options) { return this._engine.verifyOtp(purpose, identifier, code, options); }
  revokeOtp(purpose, identifier) { return this._engine.revokeOtp(purpose, identifier); }

  // --- tokens ---
  issueToken(purpose, identifier, options) { return this._engine.issueToken(purpose, identifier, options); }
  peekToken(token, purpose) { return this._engine.checkToken(token, purpose, false, false); }
  /** options.binding: the flow's binding value (a bound token is used only with it). */
  consumeToken(token, purpose, options) { return this._engine.checkToken(token, purpose, false, true, options); }
  revokeToken(token) { return this._engine.revokeToken(token, false); }

  // --- magic links ---
  issueLink(purpose, identifier, baseUrl, options) { return this._engine.issueLink(purpose, identifier, baseUrl, options); }
  peekLink(token, purpose) { return this._engine.checkToken(token, purpose, true, false); }
  /** options.binding: the flow's binding value (a bound link is used only with it; peekLink ignores it). */
  consumeLink(token, purpose, options) { return this._engine.checkToken(token, purpose, true, true, options); }
  revokeLink(token) { return this._engine.revokeToken(token, true); }

  // --- per identifier ---
  revokeAll(purpose, identifier) { return this._engine.revokeAll(purpose, identifier); }
  inspect(purpose, identifier) { return this._engine.inspect(purpose, identifier); }
  unlock(purpose, identifier) { return this._engine.unlock(purpose, identifier); }

  // --- recovery codes (README: "Recovery codes") ---
  /** A new set of single-use codes (result.codes: show them once), replacing any earlier set. */
  generateRecoveryCodes(purpose, identifier) { return this._engine.generateRecoveryCodes(purpose, identifier); }
  /** verified (spent), invalid (counted in the identifier's failure budget), locked, or not_found (no set). */
  useRecoveryCode(purpose, identifier, code, options) { return this._engine.useRecoveryCode(purpose, identifier, code, options); }
  recoveryCodesRemaining(purpose, identifier) { return this._engine.recoveryCodesRemaining(purpose, identifier); }

  // --- authenticator codes (README: "Authenticator codes") ---
  /** A new TOTP secret (result.secret: base32; result.url: the otpauth:// URI), replacing any earlier one. */
  enrollTotp(purpose, identifier, issuer) { return this._engine.enrollTotp(purpose, identifier, issuer); }
  /** verified (once: never twice), invalid (wrong or replayed: counted in the failure budget), locked, or not_found. */
  verifyTotp(purpose, identifier, code, options) { return this._engine.verifyTotp(purpose, identifier, code, options); }
  /**
   * A two-step enrollment's first step: a new secret (result.secret, result.url) and nothing
   * stored; keep result.pending (opaque, the secret sealed in it) server-side, in the user's
   * session, until confirmTotpEnrollment (by result.expiresAt: the policy's totpConfirmTtl).
   */
  beginTotpEnrollment(purpose, identifier, issuer) { return this._engine.beginTotpEnrollment(purpose, identifier, issuer); }
  /**
   * The second step, with the first code the app shows: verified (the new secret replaced the
   * enrollment current at begin; that code is used), invalid (a wrong code: counted), locked, or
   * not_found (expired, confirmed already, the enrollment changed since, or not this identifier's).
   */
  confirmTotpEnrollment(purpose, identifier, pending, code, options) {
    return this._engine.confirmTotpEnrollment(purpose, identifier, pending, code, options);
  }
  /**
   * Removes the authenticator enrollment and the recovery codes; resolves with how many (1 for an
   * enrollment, plus each code left). revokeAll never touches them; the failure budgets stay.
   */
  revokeSecondFactors(purpose, identifier) { return this._engine.revokeSecondFactors(purpose, identifier); }

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
  EVENT_NAMES: [...EVENT_NAMES],
  Engine: Manager,
  ANY_PURPOSE,
  generateKey: () => native.generateKey(),
  version: native.version,
  statuses,
  VerikitError,
  ...errorClasses,
};
