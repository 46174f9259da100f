// ES module entry of verikit/compat/nest: the same objects as the CommonJS one.
import nest from './nest.js';

export const { OTPModule, OTP_MANAGER_OPTIONS, InjectOTPManager } = nest;
export default nest;
