// Type declarations of the verikit package (written by hand; checked by the tests with tsc).

export type Status =
  | 'verified' | 'valid' | 'issued' | 'invalid' | 'not_found'
  | 'attempts_exhausted' | 'locked' | 'rate_limited' | 'cooldown';

export interface Counters {
  failures: number;
  failuresResetAt: Date | null;
  lockedUntil: Date | null;
  /** wrong guesses the failure budget allows now; null: no budget */
  guessesAvailable: number | null;
  cooldownUntil: Date | null;
  sendsAvailable: number | null;
  sendLimitResetAt: Date | null;
}

/**
 * The outcome of an operation. A Result is an object, so it is always truthy: test `ok` or
 * `status`, never the result itself (`if (await m.verifyOtp(...))` passes for a wrong code).
 */
export interface Result {
  status: Status;
  /** true only when verified, valid (peek) or issued: the field to test */
  ok: boolean;
  /** issue: the code or token to deliver */
  secret: string;
  url: string;
  purpose: string;
  identifier: string;
  payload: Buffer;
  expiresAt: Date | null;
  attemptsRemaining: number | null;
  /** milliseconds to wait (locked, rate_limited, cooldown) */
  retryAfter: number;
  activeTokens: number | null;
  counters: Counters | null;
  /** OTP issue with reissue 'resendSame': the live code was re-sent (same payload) */
  reused: boolean;
  /** verify/consume on Redis with wait_replicas: replicas that acknowledged it; null otherwise */
  replicasConfirmed: number | null;
  /** generateRecoveryCodes: the new set of recovery codes (show them once); null otherwise */
  codes: string[] | null;
  /** beginTotpEnrollment: the pending enrollment to keep for confirmTotpEnrollment; '' otherwise */
  pending: string;
}

export type Bytes = string | Buffer;

export interface CallOptions {
  payload?: Bytes;
  /** seconds; default: the purpose's policy */
  ttl?: number;
  /** an IP address, a device id: limits apply per client key too */
  clientKey?: Bytes;
  /** flow binding: a value kept with the flow that asked (its cookie); the credential then verifies only with it.
   *  Must not be empty ('' or an empty Buffer: InvalidArgumentError); omit it (or null) for none. */
  binding?: Bytes;
}

export interface RateLimit { count: number; period: number; burst: number }

/** Fields left out keep the core's defaults (README: Configuration, Abuse controls). Seconds. */
export interface Policy {
  ttl?: number;
  maxAttempts?: number;
  otpLength?: number;
  alphabet?: 'digits' | 'unambiguous';
  reissue?: 'replace' | 'resendSame';
  trimIdentifier?: boolean;
  lowercaseIdentifier?: boolean;
  oneTimeUse?: boolean;
  revokeAllOnUse?: boolean;
  tokenBytes?: number;
  linkParam?: string;
  /** recovery codes in a set (each single-use) */
  recoveryCodes?: number;
  recoveryCodeTtl?: number;
  /** authenticator (TOTP) codes: digits, step in seconds, steps accepted either side, enrollment lifetime */
  totpDigits?: number;
  totpPeriod?: number;
  totpWindow?: number;
  totpTtl?: number;
  /** seconds to confirm a two-step enrollment (beginTotpEnrollment) with its first code */
  totpConfirmTtl?: number;
  resendCooldown?: number;
  sendLimit?: RateLimit | false;
  /** wrong guesses per identifier (GCRA): default 20 per 86400 s, burst 10 */
  failureLimit?: RateLimit | false;
  /** wrong guesses per identifier and client key: default 20 per 86400 s, burst 3 */
  clientPairFailureLimit?: RateLimit | false;
  lockoutBlocksIssue?: boolean;
  clientIssueLimit?: RateLimit | false;
  clientFailureLimit?: RateLimit | false;
  maxActiveTokens?: number;
  activeCap?: 'revokeOldest' | 'refuse';
}

export type EventCredential = 'otp' | 'token' | 'link' | 'all' | 'second_factors' | 'recovery_code' | 'totp';
export type EventKind =
  | 'issued' | 'verified' | 'invalid' | 'not_found' | 'attempts_exhausted'
  | 'locked' | 'rate_limited' | 'cooldown' | 'revoked' | 'unlocked';
/** `${credential}.${kind}`: 'otp.verified', 'link.issued', 'all.revoked', ... */
export type EventName = `${EventCredential}.${EventKind}`;

/**
 * A lifecycle event (README: "Events"). It never holds a code, a token or a link; the
 * identifier itself only with `eventsIncludeIdentifier` (else null): `identifierTag` names it
 * (32 hex digits of a keyed hash, the same for one identifier across purposes and processes).
 */
export interface VerikitEvent {
  name: EventName;
  credential: EventCredential;
  kind: EventKind;
  /** the operation's status; null for revocations and unlock */
  status: Status | null;
  /** '' when unknown (a token that named nothing live, a token revoke) */
  purpose: string;
  identifierTag: string;
  identifier: string | null;
  /** '' when the call gave no client key */
  clientTag: string;
  attemptsUsed: number | null;
  attemptsRemaining: number | null;
  /** milliseconds (rate_limited, cooldown, locked); else 0 */
  retryAfter: number;
  /** revoked: how many credentials */
  count: number | null;
  /** when the outcome was known */
  at: Date;
}

export type EventListener = (event: VerikitEvent) => void;

export interface ManagerOptions {
  /** memory:// (default), redis://..., rediss://..., unix:///path */
  url?: string;
  store?: string;
  /** 32 secret bytes, the same in every process (required for Redis) */
  key?: Buffer | null;
  /** the key's id, 0-255 (default 1) */
  keyId?: number;
  previousKeys?: Array<[number, Buffer]>;
  /** 32 secret bytes naming records; does not rotate (required with previousKeys) */
  indexKey?: Buffer | null;
  policy?: Policy;
  policies?: Record<string, Policy>;
  /** the prefix of every Redis key (default "vk") */
  keyPrefix?: string;
  /** the key against a shared store's key-check record at start (default 'create'; README "Key check") */
  keyCheck?: 'create' | 'require' | 'off';
  /** false turns every abuse control off (default true) */
  abuseControls?: boolean;
  /** events queued before they are dropped (1 .. 1048576, default 4096) */
  eventQueueCapacity?: number;
  /** put the normalised identifier itself in events (default: only its tag) */
  eventsIncludeIdentifier?: boolean;
  /** origins magic links may point to ('https://host[:port]'); others are refused (default: any https origin) */
  linkOrigins?: string[];
  /** allow http:// base URLs and origins, for development (default false) */
  linkAllowHttp?: boolean;
}

export class Manager {
  /** Creates the engine now: on Redis it connects, blocking up to the URL's connect_timeout_ms (see open). */
  constructor(options?: ManagerOptions | string);
  /** A Manager whose engine is created without blocking the event loop (on libuv's thread pool). */
  static open(options?: ManagerOptions | string): Promise<Manager>;
  issueOtp(purpose: string, identifier: Bytes, options?: CallOptions): Promise<Result>;
  /** options.binding: the flow's binding value; a bound code from another flow is a wrong guess. */
  verifyOtp(purpose: string, identifier: Bytes, code: string, options?: { clientKey?: Bytes; binding?: Bytes }): Promise<Result>;
  revokeOtp(purpose: string, identifier: Bytes): Promise<boolean>;
  issueToken(purpose: string, identifier: Bytes, options?: CallOptions): Promise<Result>;
  /** Checks a token without using it. purpose: the token's purpose, or ANY_PURPOSE. */
  peekToken(token: string, purpose: string): Promise<Result>;
  /** Checks and uses a token in one atomic step. purpose: the token's purpose, or ANY_PURPOSE. */
  consumeToken(token: string, purpose: string, options?: { binding?: Bytes }): Promise<Result>;
  revokeToken(token: string): Promise<boolean>;
  issueLink(purpose: string, identifier: Bytes, baseUrl: string, options?: CallOptions): Promise<Result>;
  /** Checks a link's token without using it (a confirmation page). purpose: required, or ANY_PURPOSE. */
  peekLink(token: string, purpose: string): Promise<Result>;  // ignores bindings
  /** Checks and uses a link's token in one atomic step. purpose: required, or ANY_PURPOSE. */
  consumeLink(token: string, purpose: string, options?: { binding?: Bytes }): Promise<Result>;
  revokeLink(token: string): Promise<boolean>;
  revokeAll(purpose: string, identifier: Bytes): Promise<number>;
  inspect(purpose: string, identifier: Bytes): Promise<Result>;
  unlock(purpose: string, identifier: Bytes): Promise<boolean>;
  /** A new set of single-use recovery codes (result.codes), replacing any earlier set. */
  generateRecoveryCodes(purpose: string, identifier: Bytes): Promise<Result>;
  /** verified (the code is spent), invalid (counted in the failure budget), locked, or not_found (no set). */
  useRecoveryCode(purpose: string, identifier: Bytes, code: string, options?: { clientKey?: Bytes }): Promise<Result>;
  recoveryCodesRemaining(purpose: string, identifier: Bytes): Promise<number>;
  /** A new authenticator secret (result.secret, base32; result.url, the otpauth:// URI), replacing any earlier one. */
  enrollTotp(purpose: string, identifier: Bytes, issuer: string): Promise<Result>;
  /** verified (a code is accepted once), invalid (wrong or replayed: counted), locked, or not_found (not enrolled). */
  verifyTotp(purpose: string, identifier: Bytes, code: string, options?: { clientKey?: Bytes }): Promise<Result>;
  /** A two-step enrollment: a new secret and `pending` (keep it server-side); nothing stored until confirmed. */
  beginTotpEnrollment(purpose: string, identifier: Bytes, issuer: string): Promise<Result>;
  /** verified (now enrolled; that code is used), invalid (counted), locked, or not_found (expired, confirmed already, stale, or another's). */
  confirmTotpEnrollment(purpose: string, identifier: Bytes, pending: string, code: string,
                        options?: { clientKey?: Bytes }): Promise<Result>;
  /** Removes the authenticator enrollment and the recovery codes: how many (1 per enrollment, 1 per code left). revokeAll never does. */
  revokeSecondFactors(purpose: string, identifier: Bytes): Promise<number>;
  /** Releases the engine without blocking: later calls reject; operations in flight still settle with their answers. */
  /** This engine's counters in the Prometheus text exposition format (serve it on /metrics). */
  metrics(): string;
  /** Calls listener for each event of that name ('*': all), on the JS thread; events never keep the process alive. */
  on(name: EventName | '*', listener: EventListener): this;
  off(name: EventName | '*', listener: EventListener): this;
  /** [delivered, dropped]: events the engine handed over, and dropped (queue full or closing). */
  eventCounts(): [number, number];
  close(): void;
}

export { Manager as Engine };
/** The purpose argument that accepts a token or link of any purpose: the explicit opt-in. */
export const ANY_PURPOSE: '*';
/** Every name `on` accepts, '*' included. */
export const EVENT_NAMES: Array<EventName | '*'>;
export function generateKey(): Buffer;
export const version: string;
/** The core's statuses: name -> its value (the C API's verikit_status), whether it is a success, and what it means. */
export const statuses: Readonly<Record<Status, Readonly<{ value: number; ok: boolean; doc: string }>>>;

// The error classes are made from the core's schema (verikit_error_kind); the tests check that
// these declarations name each of them with its parent.
export class VerikitError extends Error {
  /** the C name of the code: "VERIKIT_E_CONFIG", ... */
  code: string;
}
export class InvalidArgumentError extends VerikitError {}
export class ConfigError extends VerikitError {}
export class StoreUnavailableError extends VerikitError {}
export class StoreProtocolError extends VerikitError {}
export class TimeoutError extends StoreUnavailableError {}
export class UnsupportedError extends VerikitError {}
export class CryptoError extends VerikitError {}
