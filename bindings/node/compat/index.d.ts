// Type declarations of verikit/compat (written by hand; checked by the tests with tsc): the
// public API of redis-otp-manager 1.6.1, over verikit.

export type OTPChannel = 'email' | 'sms' | 'token' | (string & {});
export type OTPMetadata = Record<string, unknown>;
export type OTPCredentialKind = 'otp' | 'token';
export type OTPThrottleScope = 'identifier' | 'intent' | 'channel' | 'intent_channel';
export type OTPRateLimitAlgorithm = 'fixed_window' | 'sliding_window';
export type OTPLockoutAppliesTo = 'verify' | 'generate' | 'both';

export interface OTPPayload {
  type: OTPChannel;
  identifier: string;
  intent?: string;
  metadata?: OTPMetadata;
}
export interface GenerateOTPInput extends OTPPayload {}
export interface VerifyOTPInput extends OTPPayload { otp: string }
export interface GenerateTokenInput extends OTPPayload {}
export interface VerifyTokenInput extends OTPPayload { token: string }

export interface RateLimitConfig {
  window: number;
  max: number;
  scope?: OTPThrottleScope;
  /** both are verikit's GCRA (no burst at a window edge); sliding_window needs RedisAdapter */
  algorithm?: OTPRateLimitAlgorithm;
}
export interface OTPCooldownConfig { seconds: number; scope?: OTPThrottleScope }
export interface OTPLockoutConfig {
  seconds: number;
  afterAttempts: number;
  appliesTo?: OTPLockoutAppliesTo;
  scope?: OTPThrottleScope;
}
export interface IdentifierNormalizationConfig {
  trim?: boolean;
  lowercase?: boolean;
  preserveCaseFor?: OTPChannel[];
}
export interface OTPHashingOptions {
  /** verikit's key is derived from it (required with RedisAdapter) */
  secret?: string;
  previousSecrets?: string[];
  /** accepted; verikit never stores an unkeyed hash, so there is nothing legacy to verify */
  allowLegacyVerify?: boolean;
  /** verikit extension: the secret naming records, which must not change at a rotation */
  indexSecret?: string;
}
export interface OTPReplayProtectionConfig { enabled: boolean; ttl: number; scope?: OTPThrottleScope }

export interface OTPEventContext {
  credentialKind: OTPCredentialKind;
  type: OTPChannel;
  identifier: string;
  normalizedIdentifier: string;
  intent: string;
  timestamp: string;
  metadata?: OTPMetadata;
}
export interface OTPGeneratedEvent extends OTPEventContext { expiresIn: number; devMode: boolean }
export interface OTPVerifiedEvent extends OTPEventContext {}
export interface OTPFailedEvent extends OTPEventContext {
  reason: 'invalid' | 'expired' | 'already_used';
  attemptsUsed?: number;
  attemptsRemaining?: number;
}
export interface OTPLockedEvent extends OTPEventContext {
  maxAttempts: number;
  operation: 'generate' | 'verify';
  lockoutSeconds?: number;
  appliesTo?: OTPLockoutAppliesTo;
  scope?: OTPThrottleScope;
}
export interface OTPRateLimitedEvent extends OTPEventContext {
  window: number;
  max: number;
  scope: OTPThrottleScope;
  algorithm: OTPRateLimitAlgorithm;
}
export interface OTPCooldownBlockedEvent extends OTPEventContext { resendCooldown: number; scope: OTPThrottleScope }

export interface OTPHookErrorContext {
  event: 'generated' | 'verified' | 'failed' | 'locked' | 'rate_limited' | 'cooldown_blocked';
  payload: OTPGeneratedEvent | OTPVerifiedEvent | OTPFailedEvent | OTPLockedEvent | OTPRateLimitedEvent | OTPCooldownBlockedEvent;
}
export interface OTPHooks {
  onGenerated?: (event: OTPGeneratedEvent) => void | Promise<void>;
  onVerified?: (event: OTPVerifiedEvent) => void | Promise<void>;
  onFailed?: (event: OTPFailedEvent) => void | Promise<void>;
  onLocked?: (event: OTPLockedEvent) => void | Promise<void>;
  onRateLimited?: (event: OTPRateLimitedEvent) => void | Promise<void>;
  onCooldownBlocked?: (event: OTPCooldownBlockedEvent) => void | Promise<void>;
  onHookError?: (error: unknown, context: OTPHookErrorContext) => void | Promise<void>;
  throwOnError?: boolean;
}
export interface OTPAuditEvent { event: OTPHookErrorContext['event']; payload: OTPHookErrorContext['payload'] }
export interface OTPAuditAdapter { record(event: OTPAuditEvent): void | Promise<void> }
export type AuditAdapter = OTPAuditAdapter;

export interface VerificationLinkParamNames { token?: string; identifier?: string; intent?: string; type?: string }
export type LinkExtraParams = Record<string, string | number | boolean | null | undefined>;
export interface OTPTokenLinkOptions {
  baseUrl: string;
  paramNames?: VerificationLinkParamNames;
  extraParams?: LinkExtraParams;
}
export interface BuildVerificationLinkOptions extends OTPTokenLinkOptions {
  token: string;
  identifier: string;
  intent?: string;
  type?: OTPChannel;
}
export interface OTPDeliveryRequest {
  credentialKind: OTPCredentialKind;
  type: OTPChannel;
  identifier: string;
  intent?: string;
  expiresIn: number;
  metadata?: OTPMetadata;
  otp?: string;
  token?: string;
  link?: string;
}
export interface OTPDeliveryAdapter { send(payload: OTPDeliveryRequest): void | Promise<void> }
export type DeliveryAdapter = OTPDeliveryAdapter;
export interface BuildOtpDeliveryPayloadOptions {
  type: OTPChannel;
  identifier: string;
  intent?: string;
  otp: string;
  expiresIn: number;
  metadata?: OTPMetadata;
}
export interface BuildTokenDeliveryPayloadOptions extends BuildVerificationLinkOptions {
  expiresIn: number;
  metadata?: OTPMetadata;
}

export type OTPVerificationOutcome =
  | 'verified' | 'expired' | 'already_used' | 'invalid' | 'locked' | 'rate_limited' | 'max_attempts'
  | 'cooldown_blocked' | 'unknown';
export interface OTPClassifiedVerificationError {
  kind: Exclude<OTPVerificationOutcome, 'verified'>;
  code?: string;
  errorName?: string;
  retryable: boolean;
}
export interface VerificationResultParamNames { outcome?: string; code?: string }
export interface BuildVerificationResultLinkOptions {
  baseUrl: string;
  outcome: OTPVerificationOutcome;
  code?: string;
  paramNames?: VerificationResultParamNames;
  extraParams?: LinkExtraParams;
}

/** The package's key-value store interface; verikit/compat's adapters implement it. */
export interface StoreAdapter {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  increment(key: string, ttlSeconds: number): Promise<number>;
}

export interface OTPManagerOptions {
  /** MemoryAdapter or RedisAdapter of verikit/compat (another StoreAdapter is refused) */
  store: StoreAdapter;
  ttl: number;
  maxAttempts: number;
  rateLimit?: RateLimitConfig;
  cooldown?: OTPCooldownConfig;
  lockout?: OTPLockoutConfig;
  devMode?: boolean;
  otpLength?: number;
  resendCooldown?: number;
  identifierNormalization?: IdentifierNormalizationConfig;
  hashing?: OTPHashingOptions;
  replayProtection?: OTPReplayProtectionConfig;
  hooks?: OTPHooks;
  auditAdapter?: OTPAuditAdapter;
  deliveryAdapter?: OTPDeliveryAdapter;
}

export interface GenerateOTPResult { expiresIn: number; otp?: string }
export interface GenerateTokenResult { expiresIn: number; token?: string }

export class OTPManager {
  constructor(options: OTPManagerOptions);
  generate(input: GenerateOTPInput): Promise<GenerateOTPResult>;
  generateAndSend(input: GenerateOTPInput): Promise<GenerateOTPResult>;
  /** Resolves true for the right code; every refusal throws an OTPError subclass. */
  verify(input: VerifyOTPInput): Promise<true>;
  generateToken(input: GenerateTokenInput): Promise<GenerateTokenResult>;
  generateTokenAndSend(input: GenerateTokenInput, linkOptions?: OTPTokenLinkOptions): Promise<GenerateTokenResult>;
  /** Resolves true for the identifier's live token; every refusal throws an OTPError subclass. */
  verifyToken(input: VerifyTokenInput): Promise<true>;
  /**
   * verikit extension: what the verikit command-line tool needs to act on the records of `input`
   * (RedisAdapter only; a MemoryAdapter's records are this process's: it throws). `env` goes in
   * the tool's environment (never its arguments); then e.g. `verikit inspect ...otp ...flags`.
   */
  supportCommandLine(input: Pick<GenerateOTPInput, 'type' | 'identifier' | 'intent'>): SupportCommandLine;
}
/** The verikit command-line tool's settings for one identifier's records (OTPManager.supportCommandLine). */
export interface SupportCommandLine {
  env: { VERIKIT_STORE: string; VERIKIT_KEY: string; VERIKIT_INDEX_KEY: string };
  /** the one-time code's purpose and identifier arguments */
  otp: [string, string];
  /** the token's purpose and identifier arguments */
  token: [string, string];
  /** --key-id, --prefix, --keep-case, --keep-spaces (and --no-key-check where the key is per process) */
  flags: string[];
}

/** The embedded store (in-process). */
export class MemoryAdapter implements StoreAdapter {
  constructor();
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  increment(key: string, ttlSeconds: number): Promise<number>;
  /** verikit extension: releases the adapter's engines */
  close(): void;
}

/** What RedisAdapter reads of a node-redis v4/v5 client (and uses for its key-value methods). */
/** A node-redis v4/v5 client: verikit reads its settings (`options`) to open its own connection. */
export interface RedisLikeClient {
  options: unknown;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { EX?: number }): Promise<unknown>;
  del(key: string): Promise<unknown>;
  incr(key: string): Promise<number>;
  expire(key: string, seconds: number): Promise<unknown>;
}
export interface RedisAdapterOptions {
  /** a verikit Redis URL, instead of the client's settings */
  url?: string;
  /** verikit's key prefix (default 'vk') */
  keyPrefix?: string;
}

/** The Redis server a node-redis client is configured for; verikit keeps its own connection. */
export class RedisAdapter implements StoreAdapter {
  constructor(client: RedisLikeClient, options?: RedisAdapterOptions);
  /** a client without node-redis's settings: the server named by `url` */
  constructor(client: Omit<RedisLikeClient, 'options'>, options: RedisAdapterOptions & { url: string });
  /** the verikit URL read from the client's settings */
  readonly url: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  increment(key: string, ttlSeconds: number): Promise<number>;
  /** verikit extension: releases verikit's connections (the client is yours) */
  close(): void;
}

export interface RedisOtpManagerOptions extends Partial<Omit<OTPManagerOptions, 'store' | 'devMode'>> {
  secret?: string;
  previousSecrets?: string[];
  /** base URL of generateLink */
  baseUrl?: string;
  intent?: string;
  type?: OTPChannel;
  url?: string;
  keyPrefix?: string;
}

/** The introduction's form: codes and tokens as strings, verify resolving true or false. */
export class RedisOtpManager {
  constructor(client?: RedisLikeClient | MemoryAdapter | RedisAdapter | null, options?: RedisOtpManagerOptions);
  /** a client without node-redis's settings: the server named by `url` */
  constructor(client: Omit<RedisLikeClient, 'options'>, options: RedisOtpManagerOptions & { url: string });
  /** verikit extension: the command-line tool's settings for this identifier's records */
  supportCommandLine(identifier: string): SupportCommandLine;
  baseUrl: string | undefined;
  generate(identifier: string): Promise<string>;
  /** true for the right code; false for a wrong, expired, used or locked one; a fault rejects */
  verify(identifier: string, otp: string): Promise<boolean>;
  generateToken(identifier: string): Promise<string>;
  verifyToken(identifier: string, token: string): Promise<boolean>;
  generateLink(identifier: string, options?: Partial<OTPTokenLinkOptions>): Promise<{ token: string; url: string }>;
  close(): void;
}

export function buildVerificationLink(options: BuildVerificationLinkOptions): string;
export function buildOtpDeliveryPayload(options: BuildOtpDeliveryPayloadOptions): OTPDeliveryRequest;
export function buildTokenDeliveryPayload(options: BuildTokenDeliveryPayloadOptions): OTPDeliveryRequest & { link: string };
export function buildVerificationResultLink(options: BuildVerificationResultLinkOptions): string;
export function classifyVerificationError(error: unknown): OTPClassifiedVerificationError;
export function getVerificationOutcome(input: { verified?: boolean; error?: unknown }): OTPVerificationOutcome;

export class OTPError extends Error {
  readonly code: string;
  constructor(message: string, code: string);
}
export class OTPRateLimitExceededError extends OTPError { constructor(message?: string) }
export class OTPExpiredError extends OTPError { constructor(message?: string) }
export class OTPInvalidError extends OTPError { constructor(message?: string) }
export class OTPMaxAttemptsExceededError extends OTPError { constructor(message?: string) }
export class OTPResendCooldownError extends OTPError { constructor(message?: string) }
export class OTPLockedError extends OTPError { constructor(message?: string) }
export class VerificationSecretExpiredError extends OTPError { constructor(message?: string) }
export class VerificationSecretInvalidError extends OTPError { constructor(message?: string) }
export class VerificationSecretAlreadyUsedError extends OTPError { constructor(message?: string) }
