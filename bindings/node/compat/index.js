'use strict';
// verikit/compat: a drop-in for the npm package redis-otp-manager 1.6.1 (OTPManager, its
// adapters, errors and helpers, and the introduction's RedisOtpManager), written over verikit's
// Manager. Where verikit is stricter than the package, it stays so: README, "Migrating from
// redis-otp-manager".
const errors = require('./errors');
const helpers = require('./helpers');
const { OTPManager } = require('./manager');
const { MemoryAdapter, RedisAdapter } = require('./adapters');
const { RedisOtpManager } = require('./positional');

module.exports = {
  OTPManager,
  RedisOtpManager,
  MemoryAdapter,
  RedisAdapter,
  ...helpers,
  ...errors,
};
