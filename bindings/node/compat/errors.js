'use strict';
// The typed errors of verikit/compat: the names, codes and default messages that code written
// for redis-otp-manager 1.6.1 catches and compares. A refusal is one of these; a fault (a store
// that cannot be reached, a bad configuration) is a verikit error and is never one of these.

class OTPError extends Error {
  constructor(message, code) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

// name -> [code, default message]
const KINDS = {
  OTPRateLimitExceededError: ['OTP_RATE_LIMIT_EXCEEDED', 'OTP request rate limit exceeded.'],
  OTPExpiredError: ['OTP_EXPIRED', 'OTP has expired or does not exist.'],
  OTPInvalidError: ['OTP_INVALID', 'OTP is invalid.'],
  OTPMaxAttemptsExceededError: ['OTP_MAX_ATTEMPTS_EXCEEDED', 'Maximum OTP verification attempts exceeded.'],
  OTPResendCooldownError: ['OTP_RESEND_COOLDOWN', 'OTP resend cooldown is active.'],
  OTPLockedError: ['OTP_LOCKED', 'OTP operations are temporarily locked for this target.'],
  VerificationSecretExpiredError: ['VERIFICATION_SECRET_EXPIRED', 'Verification secret has expired or does not exist.'],
  VerificationSecretInvalidError: ['VERIFICATION_SECRET_INVALID', 'Verification secret is invalid.'],
  VerificationSecretAlreadyUsedError: ['VERIFICATION_SECRET_ALREADY_USED', 'Verification secret has already been used.'],
};

const errors = { OTPError };
for (const [name, [code, fallback]] of Object.entries(KINDS)) {
  // A computed key names the class (errors.OTPInvalidError.name === 'OTPInvalidError').
  errors[name] = { [name]: class extends OTPError {
    constructor(message = fallback) { super(message, code); }
  } }[name];
}

module.exports = errors;
