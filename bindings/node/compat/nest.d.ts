// Type declarations of verikit/compat/nest (needs @nestjs/common in the application).
import type { DynamicModule, ModuleMetadata } from '@nestjs/common';
import type { OTPManagerOptions } from './index.js';

export const OTP_MANAGER_OPTIONS: unique symbol;

export interface OTPModuleOptions extends OTPManagerOptions {
  isGlobal?: boolean;
}

export interface OTPModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<string | symbol | Function>;
  isGlobal?: boolean;
  useFactory: (...args: any[]) => Promise<OTPManagerOptions> | OTPManagerOptions;
}

export class OTPModule {
  static forRoot(options: OTPModuleOptions): DynamicModule;
  static forRootAsync(options: OTPModuleAsyncOptions): DynamicModule;
}

/** Parameter decorator injecting verikit/compat's OTPManager. */
export function InjectOTPManager(): PropertyDecorator & ParameterDecorator;
