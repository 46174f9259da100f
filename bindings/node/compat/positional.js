'use strict';
// The introduction's form of redis-otp-manager: new RedisOtpManager(client), codes and tokens
// as strings, verify resolving true or false. false is every refusal (wrong, expired, used,
// locked, exhausted); a fault (store down, timeout) rejects, so it never reads as either.
const crypto = require('node:crypto');
const errors = require('./errors');
const helpers = require('./helpers');
const { OTPManager } = require('./manager');
const { MemoryAdapter, RedisAdapter, ENGINE } = require('./adapters');
const { EPHEMERAL } = require('./options');

async function refusedAsFalse(promise) {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof errors.OTPError) return false;
    throw error;
  }
}

/**
 * client: a node-redis v4/v5 client (verikit connects with its settings), a compat adapter, or
 * nothing (the embedded store). options: ttl (300), maxAttempts (3), otpLength, secret and
 * previousSecrets (hashing; without a secret on Redis the key is random per process, with a
 * warning), baseUrl (generateLink), intent ('default'), type ('default'), and any other
 * OTPManager option.
 */
class RedisOtpManager {
  constructor(client, opts = {}) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
    const { secret, previousSecrets, baseUrl, intent, type, url, keyPrefix, ...rest } = opts;
    let store = client;
    this._owned = false;
    if (client === undefined || client === null) {
      store = new MemoryAdapter();
      this._owned = true;
    } else if (typeof client[ENGINE] !== 'function') {
      store = new RedisAdapter(client, { url, keyPrefix });
      this._owned = true;
    }
    let hashing = rest.hashing ?? (secret ? { secret, previousSecrets } : undefined);
    if (!hashing?.secret && store instanceof RedisAdapter) {
      process.emitWarning('RedisOtpManager without { secret }: codes are hashed with a random key of this process ' +
        'and other processes cannot verify them; pass the same secret to every process', 'VerikitCompatWarning');
      hashing = { secret: crypto.randomBytes(32).toString('base64'), [EPHEMERAL]: true };
    }
    this._otp = new OTPManager({ ttl: 300, maxAttempts: 3, ...rest, store, hashing, devMode: false });
    this.baseUrl = baseUrl;
    this._input = (identifier) => ({ type: type ?? 'default', intent: intent ?? 'default', identifier });
  }

  /** Issues a code and resolves to it (a string, to send). */
  async generate(identifier) { return (await this._otp._issue('otp', this._input(identifier))).secret; }

  /** true for the right code; false for a wrong, expired, used or locked one. */
  async verify(identifier, otp) {
    if (typeof otp !== 'string') throw new TypeError('otp must be a string');
    if (!otp.trim()) return false;
    return refusedAsFalse(this._otp.verify({ ...this._input(identifier), otp }));
  }

  /** verikit extension: the command-line tool's settings for this identifier's records (OTPManager's supportCommandLine). */
  supportCommandLine(identifier) { return this._otp.supportCommandLine(this._input(identifier)); }

  /** Issues a token and resolves to it (a string). */
  async generateToken(identifier) { return (await this._otp._issue('token', this._input(identifier))).secret; }

  /** true for the identifier's live token (which it uses up); false otherwise. */
  async verifyToken(identifier, token) {
    if (typeof token !== 'string') throw new TypeError('token must be a string');
    if (!token.trim()) return false;
    return refusedAsFalse(this._otp.verifyToken({ ...this._input(identifier), token }));
  }

  /**
   * Issues a token and resolves to { token, url }: the base URL (options.baseUrl, or the
   * constructor's baseUrl) with the token and identifier as query parameters (paramNames and
   * extraParams as buildVerificationLink takes them).
   */
  async generateLink(identifier, linkOptions = {}) {
    const baseUrl = linkOptions.baseUrl ?? this.baseUrl;
    if (typeof baseUrl !== 'string' || !baseUrl.trim()) {
      throw new TypeError('generateLink needs a base URL: new RedisOtpManager(client, { baseUrl }) or generateLink(identifier, { baseUrl })');
    }
    const url = new URL(baseUrl);  // refused before anything is issued
    const token = await this.generateToken(identifier);
    return {
      token,
      url: helpers.buildVerificationLink({ ...linkOptions, baseUrl: url.toString(), token, identifier }),
    };
  }

  /** Releases the store this manager made for itself (verikit extension). */
  close() { if (this._owned) this._otp.options.store.close(); }
}

module.exports = { RedisOtpManager };
