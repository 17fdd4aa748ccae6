/**
 * Typed errors with stable codes. Dispatch on `instanceof` or `code`, never on message text.
 * Messages name the offending field and never contain a token, code, verifier or secret value.
 */
export type ErrorCode =
  // transport
  | 'insecure_url'
  | 'invalid_url'
  | 'network_error'
  | 'timeout'
  | 'response_too_large'
  | 'cross_origin_redirect'
  | 'too_many_redirects'
  | 'http_error'
  | 'invalid_json'
  // discovery and metadata
  | 'invalid_challenge'
  | 'invalid_metadata'
  | 'resource_mismatch'
  | 'issuer_mismatch'
  | 'no_authorization_server'
  | 'metadata_not_found'
  | 'pkce_unsupported'
  | 'unsupported_flow'
  // registration
  | 'registration_unavailable'
  | 'registration_failed'
  // authorization response
  | 'state_mismatch'
  | 'iss_mismatch'
  | 'authorization_denied'
  | 'authorization_failed'
  | 'callback_timeout'
  | 'device_code_expired'
  | 'port_in_use'
  // tokens
  | 'token_error'
  | 'invalid_token_response'
  | 'refresh_failed'
  | 'not_signed_in'
  | 'step_up_limit'
  | 'invalid_bundle'
  // token gateway
  | 'request_too_large'
  | 'gateway_closed'
  // storage and configuration
  | 'storage_error'
  | 'invalid_config'
  | 'cancelled';

/** Marks our errors, so `instanceof` also works across bundles (the extension loads its core separately). */
const BRAND = Symbol.for('mcp-oauth.McpOAuthError');

export class McpOAuthError extends Error {
  override name = 'McpOAuthError';
  readonly [BRAND] = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * dist/extension.js and dist/core.js each bundle their own copy of these classes, so an error thrown by
   * the core is not an instance of the extension's class by prototype. It is by brand (and, for the
   * subclasses, by `name`, which minification leaves alone).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null || (value as { [BRAND]?: unknown })[BRAND] !== true) return false;
    return this.kind === 'McpOAuthError' || (value as Error).name === this.kind;
  }

  /** The `name` its instances carry; subclasses set their own. */
  static readonly kind: string = 'McpOAuthError';
}

/** The transport failed: network, timeout, size limit, redirect policy, or a non-https URL. */
export class HttpRequestError extends McpOAuthError {
  static override readonly kind: string = 'HttpRequestError';
  override name = 'HttpRequestError';
}

/** A metadata document or response body failed validation; the message names the field. */
export class InvalidResponseError extends McpOAuthError {
  static override readonly kind: string = 'InvalidResponseError';
  override name = 'InvalidResponseError';
}

/** The authorization server answered with an OAuth error (`error`, `error_description`). */
export class OAuthResponseError extends McpOAuthError {
  static override readonly kind: string = 'OAuthResponseError';
  override name = 'OAuthResponseError';
  constructor(
    code: ErrorCode,
    message: string,
    readonly error: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The user or the caller cancelled. Not shown to the user as an error. */
export class CancelledError extends McpOAuthError {
  static override readonly kind: string = 'CancelledError';
  override name = 'CancelledError';
  constructor(message = 'The operation was cancelled.') {
    super('cancelled', message);
  }
}

/**
 * Makes attacker-controlled text safe to put in a message or a log: JSON-encoded, bounded, and with the
 * characters JSON leaves alone but terminals and editors act on (DEL, C1 controls, line separators,
 * bidirectional overrides) escaped too.
 */
export function quote(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
