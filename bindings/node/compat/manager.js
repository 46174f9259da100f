'use strict';
// OTPManager of verikit/compat: redis-otp-manager 1.6.1's object API over verikit's Manager.
// verify and verifyToken resolve `true` only on verikit's `verified`; every refusal throws one
// of the package's typed errors, and every fault (store down, timeout) rejects with verikit's
// error: nothing else resolves.
const errors = require('./errors');
const helpers = require('./helpers');
const options = require('./options');
const { ENGINE, IS_REDIS, PREFIX } = require('./adapters');

const HOOKS = {
  generated: 'onGenerated', verified: 'onVerified', failed: 'onFailed', locked: 'onLocked',
  rate_limited: 'onRateLimited', cooldown_blocked: 'onCooldownBlocked',
};

function segments(scope, intent, type, identifier) {
  switch (scope) {
    case 'identifier': return [scope, identifier];
    case 'intent': return [scope, intent, identifier];
    case 'channel': return [scope, type, identifier];
    default: return [scope, intent, type, identifier];
  }
}

// What verikit takes as a token at all (it refuses longer ones, NULs and lone surrogates as
// invalid arguments); anything else is answered like an unknown token (a lone surrogate made
// verifyToken reject with InvalidArgumentError: found by a review).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function wellFormedToken(token) {
  return Buffer.byteLength(token) <= 512 && !token.includes('\0') && !LONE_SURROGATE.test(token);
}

function unexpected(what, result) {
  return new Error(`verikit/compat: unexpected ${what} status '${result.status}'`);
}

class OTPManager {
  constructor(opts) {
    options.validate(opts);
    if (typeof opts.store[ENGINE] !== 'function') {
      throw new TypeError("store must be verikit/compat's MemoryAdapter or RedisAdapter: verikit keeps credentials in " +
        'its own store (README: Migrating from redis-otp-manager).');
    }
    const redis = opts.store[IS_REDIS] === true;
    const c = options.resolve(opts);
    if (c.rateLimit?.algorithm === 'sliding_window' && !redis) {
      throw new TypeError('Sliding-window rate limiting currently requires RedisAdapter.');
    }
    if (redis && !opts.hashing?.secret) {
      throw new TypeError('hashing.secret is required with RedisAdapter: verikit always hashes with a key that every ' +
        'process shares (README: Migrating from redis-otp-manager).');
    }
    this.options = { ...opts, otpLength: c.otpLength, devMode: c.devMode };
    this._c = c;
    this._engineOptions = { policies: options.policies(c), ...(opts.hashing?.secret ? options.keys(opts.hashing) : {}) };
    this._engine = null;
  }

  // verikit's Manager for this configuration, made on first use (on Redis it connects then, off
  // the event loop); a failed opening is tried again by a later call (after the adapter's backoff).
  async _m() {
    if (this._engine) return this._engine;
    const manager = await this.options.store[ENGINE](this._engineOptions);
    this._engine ??= manager;
    return manager;
  }

  async generate(input) { return (await this._issue('otp', input)).result; }

  async generateAndSend(input) {
    this._delivery();
    const flow = await this._issue('otp', input);
    await this.options.deliveryAdapter.send(helpers.buildOtpDeliveryPayload({
      type: input.type, identifier: flow.identifier, intent: input.intent, otp: flow.secret,
      expiresIn: flow.result.expiresIn, metadata: input.metadata,
    }));
    return flow.result;
  }

  async verify(input) {
    const p = this._prepare('otp', input, input?.otp, 'OTP');
    await this._lockMarker(p, 'verify');
    const m = this._engine ?? await this._m();
    const code = input.otp.replace(/[\s-]/g, '');
    if (!new RegExp(`^[0-9]{${this._c.otpLength}}$`).test(code)) {
      // verikit refuses a code that cannot be right before asking the store: no attempt spent.
      await this._failed(p, 'invalid');
      throw new errors.OTPInvalidError();
    }
    const r = await m.verifyOtp('otp', p.record, code);
    switch (r.status) {
      case 'verified':
        await this._emit('verified', p.context);
        return true;
      case 'invalid':
        await this._failed(p, 'invalid', typeof r.attemptsRemaining === 'number' ? this._c.maxAttempts - r.attemptsRemaining : undefined);
        throw new errors.OTPInvalidError();
      case 'attempts_exhausted':
        await this._locked(p, 'verify');
        throw new errors.OTPMaxAttemptsExceededError();
      case 'locked':
        await this._markLocked(p);
        await this._locked(p, 'verify');
        throw new errors.OTPLockedError();
      case 'not_found':
        await this._failed(p, 'expired');
        throw new errors.OTPExpiredError();
      default:
        throw unexpected('verification', r);
    }
  }

  async generateToken(input) { return (await this._issue('token', input)).result; }

  async generateTokenAndSend(input, linkOptions) {
    this._delivery();
    const flow = await this._issue('token', input);
    const fields = {
      type: input.type, identifier: flow.identifier, intent: input.intent, token: flow.secret,
      expiresIn: flow.result.expiresIn, metadata: input.metadata,
    };
    await this.options.deliveryAdapter.send(linkOptions
      ? helpers.buildTokenDeliveryPayload({ ...linkOptions, ...fields })
      : { credentialKind: 'token', ...fields });
    return flow.result;
  }

  async verifyToken(input) {
    const p = this._prepare('token', input, input?.token, 'token');
    const m = this._engine ?? await this._m();
    const replay = this._c.replay;
    if (replay && (await m.inspect('token-used', p.scoped(replay.scope))).activeTokens > 0) {
      await this._failed(p, 'already_used');
      throw new errors.VerificationSecretAlreadyUsedError();
    }
    await this._lockMarker(p, 'verify');
    // A token is found by itself; it must also be the one issued for this intent, type and
    // identifier. Peek first, so that a token presented with another identifier stays usable.
    // A token verikit would refuse as malformed (longer than it makes any, a NUL) is a token it
    // never issued: answered like any unknown token, a typed refusal, not an InvalidArgumentError.
    const peek = wellFormedToken(input.token) ? await m.peekToken(input.token, 'token') : { status: 'not_found' };
    if (peek.status === 'valid' && peek.identifier === p.record) {
      const r = await m.consumeToken(input.token, 'token');
      if (r.status === 'verified') {
        if (replay) {
          const marker = await m.issueToken('token-used', p.scoped(replay.scope), { ttl: replay.ttl });
          if (marker.status !== 'issued') throw unexpected('replay marker', marker);
        }
        await this._emit('verified', p.context);
        return true;
      }
      if (r.status !== 'not_found') throw unexpected('token', r);
    } else if (peek.status !== 'valid' && peek.status !== 'not_found') {
      throw unexpected('token', peek);
    }
    if ((await m.inspect('token', p.record)).activeTokens > 0) {
      await this._failed(p, 'invalid');
      throw new errors.VerificationSecretInvalidError();
    }
    await this._failed(p, 'expired');
    throw new errors.VerificationSecretExpiredError();
  }

  /**
   * verikit extension: what the verikit command-line tool needs to act on this manager's records
   * of `input` ({ type, identifier, intent }, normalised as the other methods do), for support
   * staff: `env` (VERIKIT_STORE, VERIKIT_KEY, VERIKIT_INDEX_KEY: put them in the tool's
   * environment, never in its arguments), the code's and the token's (purpose, identifier)
   * arguments, and the flags that match this manager (key id, prefix, identifiers kept as given).
   * E.g. `verikit inspect ${otp} ${flags}`, `verikit revoke-all ${token} ${flags}`. On
   * MemoryAdapter there is nothing another process can read: it throws.
   */
  supportCommandLine(input) {
    const store = this.options.store;
    if (store[IS_REDIS] !== true) {
      throw new TypeError('supportCommandLine: a MemoryAdapter keeps its records in this process: the command-line tool cannot see them');
    }
    const p = this._prepare('otp', input);
    const k = this._engineOptions;
    const flags = ['--key-id', String(k.keyId), '--prefix', store[PREFIX], '--keep-case', '--keep-spaces'];
    if (k.keyCheck === 'off') flags.push('--no-key-check');
    return {
      env: { VERIKIT_STORE: store.url, VERIKIT_KEY: k.key.toString('hex'), VERIKIT_INDEX_KEY: k.indexKey.toString('hex') },
      otp: ['otp', p.record],
      token: ['token', p.record],
      flags,
    };
  }

  // --- internals ---

  _delivery() {
    if (!this.options.deliveryAdapter) throw new TypeError('deliveryAdapter is required for send helpers.');
  }

  // Checks the input, normalises the identifier as the package does, and names the records.
  _prepare(kind, input, secret, secretName) {
    if (input === null || typeof input !== 'object') throw new TypeError('input must be an object.');
    const { type, intent: given, metadata } = input;
    if (typeof type !== 'string' || !type.trim()) throw new TypeError('type must be a non-empty string.');
    if (typeof input.identifier !== 'string' || !input.identifier.trim()) throw new TypeError('identifier must be a non-empty string.');
    // (null is the default intent, a number its digits: as the package builds its keys)
    if (given != null && typeof given !== 'string' && typeof given !== 'number') {
      throw new TypeError('intent must be a string when provided.');
    }
    if (secretName && (typeof secret !== 'string' || !secret.trim())) throw new TypeError(`${secretName} must be a non-empty string.`);
    const n = this.options.identifierNormalization ?? {};
    let identifier = input.identifier;
    // An option given as undefined overrides the default, as the package's object spread does.
    const option = (name, fallback) => (n && typeof n === 'object' && name in n ? n[name] : fallback);
    if (option('trim', true)) identifier = identifier.trim();
    if (option('lowercase', true) && !(option('preserveCaseFor', undefined) ?? ['sms', 'token']).includes(type)) {
      identifier = identifier.toLowerCase();
    }
    const intent = given == null ? 'default' : String(given);
    return {
      kind,
      identifier,
      record: JSON.stringify([intent, type, identifier]),
      scoped: (scope) => JSON.stringify(segments(scope, intent, type, identifier)),
      context: {
        credentialKind: kind, type, identifier: input.identifier, normalizedIdentifier: identifier, intent,
        timestamp: new Date().toISOString(), metadata,
      },
    };
  }

  async _issue(kind, input) {
    const p = this._prepare(kind, input);
    const m = this._engine ?? await this._m();
    const c = this._c;
    await this._lockMarker(p, 'generate');
    // The gates, in the package's order: cooldown, then rate limit, each at its own scope.
    if (c.cooldown) {
      await this._gate(p, 'cooldown', c.cooldown.scope, 'cooldown', async () => {
        await this._emit('cooldown_blocked', { ...p.context, resendCooldown: c.cooldown.seconds, scope: c.cooldown.scope });
        return new errors.OTPResendCooldownError();
      });
    }
    if (c.rateLimit) {
      await this._gate(p, 'rate', c.rateLimit.scope, 'rate_limited', async () => {
        await this._rateLimited(p);
        return new errors.OTPRateLimitExceededError();
      });
    }
    const r = kind === 'otp'
      ? await m.issueOtp('otp', p.record, { ttl: c.ttl })
      : await m.issueToken('token', p.record, { ttl: c.ttl });
    switch (r.status) {
      case 'issued': break;
      case 'locked':
        await this._locked(p, 'generate');
        throw new errors.OTPLockedError();
      case 'rate_limited':  // verikit's own send limit (no rateLimit option given)
        await this._rateLimited(p);
        throw new errors.OTPRateLimitExceededError();
      case 'cooldown':
        throw new errors.OTPResendCooldownError();
      default:
        throw unexpected('issue', r);
    }
    await this._emit('generated', { ...p.context, expiresIn: c.ttl, devMode: c.devMode });
    return { result: { expiresIn: c.ttl, [kind]: c.devMode ? r.secret : undefined }, secret: r.secret, identifier: p.identifier };
  }

  // A gate: an issue (of a code that is never sent) under the control's own purpose and scope,
  // whose only policy is that control.
  async _gate(p, control, scope, refusal, refused) {
    const r = await (await this._m()).issueOtp(`${p.kind}-${control}`, p.scoped(scope), { ttl: 1 });
    if (r.status === refusal) throw await refused();
    if (r.status !== 'issued') throw unexpected(control, r);
  }

  _lockoutCovers(operation) {
    const l = this._c.lockout;
    return l !== undefined && (l.appliesTo === 'both' || l.appliesTo === operation);
  }

  // A lockout scope wider than intent + channel is a marker beside verikit's own lock.
  async _lockMarker(p, operation) {
    const l = this._c.lockout;
    if (!l || l.scope === 'intent_channel' || !this._lockoutCovers(operation)) return;
    if ((await (await this._m()).inspect(`${p.kind}-lock`, p.scoped(l.scope))).activeTokens > 0) {
      await this._locked(p, operation);
      throw new errors.OTPLockedError();
    }
  }

  async _markLocked(p) {
    const l = this._c.lockout;
    if (!l || l.scope === 'intent_channel') return;
    const r = await (await this._m()).issueToken(`${p.kind}-lock`, p.scoped(l.scope), { ttl: l.seconds });
    if (r.status !== 'issued') throw unexpected('lock marker', r);
  }

  _failed(p, reason, attemptsUsed) {
    return this._emit('failed', {
      ...p.context, reason, attemptsUsed,
      attemptsRemaining: attemptsUsed === undefined ? undefined : Math.max(this._c.maxAttempts - attemptsUsed, 0),
    });
  }

  _locked(p, operation) {
    const l = this._c.lockout;
    return this._emit('locked', {
      ...p.context, maxAttempts: this._c.maxAttempts, operation, lockoutSeconds: l?.seconds, appliesTo: l?.appliesTo, scope: l?.scope,
    });
  }

  _rateLimited(p) {
    const rl = this._c.rateLimit;
    if (!rl) return undefined;
    return this._emit('rate_limited', { ...p.context, window: rl.window, max: rl.max, scope: rl.scope, algorithm: rl.algorithm });
  }

  // Hooks, then the audit adapter, as the package calls them: after the current operation
  // (a microtask) unless hooks.throwOnError, which awaits them and lets their errors through.
  async _emit(event, payload) {
    const hooks = this.options.hooks ?? {};
    const hook = hooks[HOOKS[event]];
    const audit = this.options.auditAdapter;
    if (!hook && !audit) return;
    const guarded = async (fn) => {
      try {
        await fn();
      } catch (error) {
        if (hooks.onHookError) await hooks.onHookError(error, { event, payload });
        if (hooks.throwOnError) throw error;
      }
    };
    const run = async () => {
      if (hook) await guarded(() => hook(payload));
      if (audit) await guarded(() => audit.record({ event, payload }));
    };
    if (hooks.throwOnError) {
      await run();
      return;
    }
    queueMicrotask(() => { run().catch(() => {}); });
  }
}

module.exports = { OTPManager };
