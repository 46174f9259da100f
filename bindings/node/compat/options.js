'use strict';
// OTPManager options: the package's checks (same messages: code and tests match on them), then
// their translation into a verikit configuration (policies per verikit purpose, keys).
const crypto = require('node:crypto');

const SCOPES = ['identifier', 'intent', 'channel', 'intent_channel'];
const HOOK_NAMES = ['onGenerated', 'onVerified', 'onFailed', 'onLocked', 'onRateLimited', 'onCooldownBlocked', 'onHookError'];
const MAX_TTL = 30 * 86400;  // verikit's ranges
// verikit's default failure budget: a burst of 10 wrong guesses, then one per 72 minutes. A
// lockout option may make it stricter, never looser (README: Migrating from redis-otp-manager).
const BUDGET_BURST = 10;
const BUDGET_REFILL_SECONDS = 4320;

function check(ok, message) {
  if (!ok) throw new TypeError(message);
}
const positive = (v) => Number.isInteger(v) && v > 0;
const optionalPositive = (v, message) => check(v === undefined || positive(v), message);
const scopeOk = (scope, name) => check(scope === undefined || SCOPES.includes(scope), `${name}.scope must be a supported throttle scope.`);
const nonEmpty = (s) => typeof s === 'string' && s.trim() !== '';

function validate(o) {
  check(o !== null && typeof o === 'object', 'options must be an object.');
  check(o.store !== null && typeof o.store === 'object', 'store must be a valid adapter object.');
  for (const m of ['get', 'set', 'del', 'increment']) check(typeof o.store[m] === 'function', `store.${m} must be a function.`);
  check(positive(o.ttl), 'ttl must be a positive integer.');
  check(positive(o.maxAttempts), 'maxAttempts must be a positive integer.');
  optionalPositive(o.otpLength, 'otpLength must be a positive integer when provided.');
  optionalPositive(o.resendCooldown, 'resendCooldown must be a positive integer when provided.');
  if (o.cooldown) {
    check(positive(o.cooldown.seconds), 'cooldown.seconds must be a positive integer.');
    scopeOk(o.cooldown.scope, 'cooldown');
  }
  if (o.rateLimit) {
    check(positive(o.rateLimit.window), 'rateLimit.window must be a positive integer.');
    check(positive(o.rateLimit.max), 'rateLimit.max must be a positive integer.');
    scopeOk(o.rateLimit.scope, 'rateLimit');
    check([undefined, 'fixed_window', 'sliding_window'].includes(o.rateLimit.algorithm),
      'rateLimit.algorithm must be fixed_window or sliding_window.');
  }
  if (o.lockout) {
    check(positive(o.lockout.seconds), 'lockout.seconds must be a positive integer.');
    check(positive(o.lockout.afterAttempts), 'lockout.afterAttempts must be a positive integer.');
    check(o.lockout.afterAttempts <= o.maxAttempts, 'lockout.afterAttempts cannot be greater than maxAttempts.');
    scopeOk(o.lockout.scope, 'lockout');
    check([undefined, 'verify', 'generate', 'both'].includes(o.lockout.appliesTo),
      'lockout.appliesTo must be verify, generate, or both.');
  }
  const n = o.identifierNormalization;
  if (n) {
    check(n.trim === undefined || typeof n.trim === 'boolean', 'identifierNormalization.trim must be a boolean.');
    check(n.lowercase === undefined || typeof n.lowercase === 'boolean', 'identifierNormalization.lowercase must be a boolean.');
    check(n.preserveCaseFor === undefined || (Array.isArray(n.preserveCaseFor) && n.preserveCaseFor.every(nonEmpty)),
      'identifierNormalization.preserveCaseFor must be an array of non-empty strings.');
  }
  const r = o.replayProtection;
  if (r) {
    check(typeof r.enabled === 'boolean', 'replayProtection.enabled must be a boolean.');
    check(positive(r.ttl), 'replayProtection.ttl must be a positive integer.');
    scopeOk(r.scope, 'replayProtection');
  }
  const h = o.hashing;
  if (h) {
    check(h.secret === undefined || nonEmpty(h.secret), 'hashing.secret must be a non-empty string when provided.');
    check(h.previousSecrets === undefined || (Array.isArray(h.previousSecrets) && h.previousSecrets.every(nonEmpty)),
      'hashing.previousSecrets must contain only non-empty strings.');
    check(!(h.secret && h.previousSecrets?.includes(h.secret)), 'hashing.previousSecrets must not include hashing.secret.');
    check(h.allowLegacyVerify === undefined || typeof h.allowLegacyVerify === 'boolean',
      'hashing.allowLegacyVerify must be a boolean.');
    check(h.indexSecret === undefined || nonEmpty(h.indexSecret), 'hashing.indexSecret must be a non-empty string when provided.');
  }
  if (o.hooks) {
    check(HOOK_NAMES.every((k) => o.hooks[k] === undefined || typeof o.hooks[k] === 'function'),
      'All hooks must be functions when provided.');
    check(o.hooks.throwOnError === undefined || typeof o.hooks.throwOnError === 'boolean',
      'hooks.throwOnError must be a boolean.');
  }
  check(!o.auditAdapter || typeof o.auditAdapter.record === 'function', 'auditAdapter.record must be a function.');
  check(!o.deliveryAdapter || typeof o.deliveryAdapter.send === 'function', 'deliveryAdapter.send must be a function.');
  // verikit's own ranges (the package has none): refused here rather than at the first call.
  check(o.ttl <= MAX_TTL, `ttl must be at most ${MAX_TTL} seconds (30 days) in verikit.`);
  check(o.maxAttempts <= 100, 'maxAttempts must be at most 100 in verikit.');
  check(o.otpLength === undefined || (o.otpLength >= 4 && o.otpLength <= 10), 'otpLength must be 4 to 10 in verikit.');
}

/** The abuse controls as the package resolves them (its defaults and precedence). */
function resolve(o) {
  const seconds = o.cooldown?.seconds ?? o.resendCooldown;
  return {
    ttl: o.ttl,
    maxAttempts: o.maxAttempts,
    otpLength: o.otpLength ?? 6,
    devMode: o.devMode ?? false,
    cooldown: seconds ? { seconds, scope: o.cooldown?.scope ?? 'intent_channel' } : undefined,
    rateLimit: o.rateLimit
      ? { ...o.rateLimit, scope: o.rateLimit.scope ?? 'channel', algorithm: o.rateLimit.algorithm ?? 'fixed_window' } : undefined,
    lockout: o.lockout
      ? { ...o.lockout, appliesTo: o.lockout.appliesTo ?? 'both', scope: o.lockout.scope ?? 'intent_channel' } : undefined,
    replay: o.replayProtection?.enabled
      ? { ttl: o.replayProtection.ttl, scope: o.replayProtection.scope ?? 'intent_channel' } : undefined,
  };
}

// A policy that only carries what it is used for (a gate or a marker): no other control.
const QUIET = {
  resendCooldown: 0, sendLimit: false, failureLimit: false, clientPairFailureLimit: false, clientIssueLimit: false,
  clientFailureLimit: false, lockoutBlocksIssue: false, trimIdentifier: false, lowercaseIdentifier: false,
};
const MARKER = { ...QUIET, maxActiveTokens: 1, activeCap: 'revokeOldest' };

/**
 * verikit purposes: 'otp' and 'token' hold the credentials (identifier: [intent, type,
 * identifier]); '<kind>-cooldown' and '<kind>-rate' are gates issued before them, per the
 * option's scope; '<kind>-lock' marks a lockout of a scope wider than intent + channel;
 * 'token-used' is the replay marker.
 */
function policies(c) {
  // (ttl is given with each issue, so managers that differ only in ttl share an engine)
  const guarded = { resendCooldown: 0, trimIdentifier: false, lowercaseIdentifier: false };
  if (c.rateLimit) guarded.sendLimit = false;  // the rate gate does it, at its scope
  if (c.lockout) {
    guarded.failureLimit = {
      count: 1, period: Math.max(c.lockout.seconds, BUDGET_REFILL_SECONDS), burst: Math.min(c.lockout.afterAttempts, BUDGET_BURST),
    };
    guarded.lockoutBlocksIssue = c.lockout.appliesTo !== 'verify';
  }
  const out = {
    otp: { ...guarded, maxAttempts: c.maxAttempts, otpLength: c.otpLength },
    token: { ...guarded, maxActiveTokens: 1, activeCap: 'revokeOldest' },
  };
  for (const kind of ['otp', 'token']) {
    if (c.cooldown) out[`${kind}-cooldown`] = { ...QUIET, resendCooldown: c.cooldown.seconds };
    if (c.rateLimit) {
      out[`${kind}-rate`] = { ...QUIET, sendLimit: { count: c.rateLimit.max, period: c.rateLimit.window, burst: c.rateLimit.max } };
    }
    if (c.lockout && c.lockout.scope !== 'intent_channel') out[`${kind}-lock`] = MARKER;
  }
  if (c.replay) out['token-used'] = MARKER;
  return out;
}

function derive(secret, info, length = 32) {
  return Buffer.from(crypto.hkdfSync('sha256', secret, 'verikit/compat', info, length));
}

/**
 * verikit keys from the hashing secrets: each secret gives a 32-byte key and a one-byte key id
 * (both derived, so every process agrees); the index key, which names records and must not
 * change at a rotation, comes from hashing.indexSecret, or else the last of previousSecrets
 * (the oldest), or else the secret.
 */
// Marks the random per-process secret of RedisOtpManager without { secret }: its records are this
// process's alone, so the store's key check (which refuses an engine whose key differs from the
// one the prefix's records were written with) would refuse every restart: off for it.
const EPHEMERAL = Symbol('verikit.compat.ephemeralSecret');

function keys(hashing) {
  const previous = hashing.previousSecrets ?? [];
  const id = (secret) => derive(secret, 'key id', 1)[0];
  const ids = [hashing.secret, ...previous].map(id);
  check(new Set(ids).size === ids.length,
    'hashing: two of these secrets map to the same verikit key id; choose another secret (README: Migrating from redis-otp-manager).');
  return {
    key: derive(hashing.secret, 'key'),
    keyId: ids[0],
    previousKeys: previous.map((secret, i) => [ids[i + 1], derive(secret, 'key')]),
    indexKey: derive(hashing.indexSecret ?? previous[previous.length - 1] ?? hashing.secret, 'index key'),
    ...(hashing[EPHEMERAL] ? { keyCheck: 'off' } : {}),
  };
}

module.exports = { validate, resolve, policies, keys, EPHEMERAL };
