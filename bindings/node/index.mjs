// ES module entry: the same objects as the CommonJS one.
import verikit from './index.js';

export const {
  Manager, Engine, ANY_PURPOSE, generateKey, version, statuses, EVENT_NAMES, VerikitError, InvalidArgumentError, ConfigError,
  StoreUnavailableError, StoreProtocolError, TimeoutError, UnsupportedError, CryptoError,
} = verikit;
export default verikit;
