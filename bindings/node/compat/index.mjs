// ES module entry of verikit/compat: the same objects as the CommonJS one.
import compat from './index.js';

export const {
  OTPManager, RedisOtpManager, MemoryAdapter, RedisAdapter,
  buildVerificationLink, buildOtpDeliveryPayload, buildTokenDeliveryPayload, buildVerificationResultLink,
  classifyVerificationError, getVerificationOutcome,
  OTPError, OTPExpiredError, OTPInvalidError, OTPLockedError, OTPMaxAttemptsExceededError, OTPRateLimitExceededError,
  OTPResendCooldownError, VerificationSecretAlreadyUsedError, VerificationSecretExpiredError, VerificationSecretInvalidError,
} = compat;
export default compat;
