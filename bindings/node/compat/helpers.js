'use strict';
// The link, delivery-payload and outcome helpers of redis-otp-manager 1.6.1: pure functions,
// no store.
const errors = require('./errors');

function required(value, message) {
  if (typeof value !== 'string' || !value.trim()) throw new TypeError(message);
}

function setExtra(url, extraParams) {
  for (const [key, value] of Object.entries(extraParams ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
}

/** The base URL with the token, identifier, intent and type as query parameters. */
function buildVerificationLink(options) {
  const { baseUrl, token, identifier, intent, type, extraParams } = options ?? {};
  const paramNames = options?.paramNames ?? {};  // (null as well as absent: the package spreads it)
  required(baseUrl, 'baseUrl is required.');
  required(token, 'token is required.');
  required(identifier, 'identifier is required.');
  const url = new URL(baseUrl);
  url.searchParams.set(paramNames.token ?? 'token', token);
  url.searchParams.set(paramNames.identifier ?? 'identifier', identifier);
  if (typeof intent === 'string' && intent.trim()) url.searchParams.set(paramNames.intent ?? 'intent', intent);
  if (typeof type === 'string' && type.trim()) url.searchParams.set(paramNames.type ?? 'type', type);
  setExtra(url, extraParams);
  return url.toString();
}

function buildOtpDeliveryPayload(options) {
  const { type, identifier, intent, otp, expiresIn, metadata } = options;
  return { credentialKind: 'otp', type, identifier, intent, otp, expiresIn, metadata };
}

function buildTokenDeliveryPayload(options) {
  const { type, identifier, intent, token, expiresIn, metadata } = options;
  return {
    credentialKind: 'token', type: type ?? 'token', identifier, intent, token, expiresIn, metadata,
    link: buildVerificationLink(options),
  };
}

// error class -> [outcome kind, retryable]; the first match wins (order as the package checks).
const CLASSIFIED = [
  [errors.VerificationSecretAlreadyUsedError, 'already_used', false],
  [errors.VerificationSecretExpiredError, 'expired', false],
  [errors.OTPExpiredError, 'expired', false],
  [errors.VerificationSecretInvalidError, 'invalid', true],
  [errors.OTPInvalidError, 'invalid', true],
  [errors.OTPLockedError, 'locked', true],
  [errors.OTPRateLimitExceededError, 'rate_limited', true],
  [errors.OTPMaxAttemptsExceededError, 'max_attempts', false],
  [errors.OTPResendCooldownError, 'cooldown_blocked', true],
];

function classifyVerificationError(error) {
  for (const [cls, kind, retryable] of CLASSIFIED) {
    if (error instanceof cls) return { kind, code: error.code, errorName: error.name, retryable };
  }
  const code = error?.code;
  const name = error?.name;
  return {
    kind: 'unknown',
    code: typeof code === 'string' ? code : undefined,
    errorName: typeof name === 'string' ? name : undefined,
    retryable: false,
  };
}

function getVerificationOutcome(input) {
  if (input?.verified) return 'verified';
  if (input?.error !== undefined) return classifyVerificationError(input.error).kind;
  return 'unknown';
}

/** A redirect URL carrying a verification outcome (and an error code). */
function buildVerificationResultLink(options) {
  required(options?.baseUrl, 'baseUrl must be a non-empty string.');
  const url = new URL(options.baseUrl);
  const names = options.paramNames ?? {};
  url.searchParams.set(names.outcome ?? 'outcome', options.outcome);
  if (options.code) url.searchParams.set(names.code ?? 'code', options.code);
  setExtra(url, options.extraParams);
  return url.toString();
}

module.exports = {
  buildVerificationLink,
  buildOtpDeliveryPayload,
  buildTokenDeliveryPayload,
  buildVerificationResultLink,
  classifyVerificationError,
  getVerificationOutcome,
};
