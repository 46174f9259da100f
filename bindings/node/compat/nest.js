'use strict';
// verikit/compat/nest: the NestJS module of redis-otp-manager 1.6.1 (OTPModule.forRoot,
// forRootAsync, InjectOTPManager), providing verikit/compat's OTPManager. Needs @nestjs/common
// in the application.
const { Inject, Module } = require('@nestjs/common');
const { OTPManager } = require('./manager');

const OTP_MANAGER_OPTIONS = Symbol('OTP_MANAGER_OPTIONS');

class OTPModule {
  static forRoot(options) {
    const { isGlobal, ...managerOptions } = options;
    return {
      module: OTPModule,
      global: isGlobal ?? false,
      providers: [{ provide: OTPManager, useValue: new OTPManager(managerOptions) }],
      exports: [OTPManager],
    };
  }

  static forRootAsync(options) {
    return {
      module: OTPModule,
      global: options.isGlobal ?? false,
      imports: options.imports ?? [],
      providers: [
        { provide: OTP_MANAGER_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        { provide: OTPManager, inject: [OTP_MANAGER_OPTIONS], useFactory: (resolved) => new OTPManager(resolved) },
      ],
      exports: [OTPManager],
    };
  }
}
Module({})(OTPModule);

/** Parameter decorator injecting the OTPManager provided by OTPModule. */
function InjectOTPManager() {
  return Inject(OTPManager);
}

module.exports = { OTPModule, OTP_MANAGER_OPTIONS, InjectOTPManager };
