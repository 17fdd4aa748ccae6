import { safeLine } from './http/logger';

/**
 * Typed errors with stable codes. Dispatch on `instanceof` or `code`, never on message text. Each code belongs
 * to exactly one class ({@link ERROR_CLASSES}), so knowing the code tells the class and the other way round.
 * Messages name the offending field and never contain a token, code, verifier or secret value.
 */
export const ERROR_CLASSES = {
  // The transport failed or the server answered at the HTTP level (HttpRequestError): worth trying again later.
  network_error: 'HttpRequestError',
  timeout: 'HttpRequestError',
  response_too_large: 'HttpRequestError',
  cross_origin_redirect: 'HttpRequestError',
  too_many_redirects: 'HttpRequestError',
  http_error: 'HttpRequestError',
  invalid_json: 'HttpRequestError',
  // A document, a response or a URL in one failed validation (InvalidResponseError); the message names the field.
  insecure_url: 'InvalidResponseError',
  blocked_address: 'InvalidResponseError',
  invalid_challenge: 'InvalidResponseError',
  invalid_metadata: 'InvalidResponseError',
  resource_mismatch: 'InvalidResponseError',
  issuer_mismatch: 'InvalidResponseError',
  invalid_response: 'InvalidResponseError',
  invalid_token_response: 'InvalidResponseError',
  invalid_bundle: 'InvalidResponseError',
  state_mismatch: 'InvalidResponseError',
  iss_mismatch: 'InvalidResponseError',
  redirect_mismatch: 'InvalidResponseError',
  browser_mismatch: 'InvalidResponseError',
  // The authorization server refused a step (OAuthResponseError, with its `error` code and HTTP status).
  registration_failed: 'OAuthResponseError',
  authorization_denied: 'OAuthResponseError',
  authorization_failed: 'OAuthResponseError',
  device_code_expired: 'OAuthResponseError',
  token_error: 'OAuthResponseError',
  refresh_failed: 'OAuthResponseError',
  // The user or the caller cancelled (CancelledError).
  cancelled: 'CancelledError',
  // Everything else (McpOAuthError): configuration, capabilities, the session, local resources.
  invalid_url: 'McpOAuthError',
  invalid_config: 'McpOAuthError',
  metadata_not_found: 'McpOAuthError',
  pkce_unsupported: 'McpOAuthError',
  /** auth.dpop is "required" and the server or its AS cannot do DPoP (RFC 9449); the message says what to change. */
  dpop_unsupported: 'McpOAuthError',
  unsupported_flow: 'McpOAuthError',
  unsupported_protocol_version: 'McpOAuthError',
  registration_unavailable: 'McpOAuthError',
  callback_timeout: 'McpOAuthError',
  port_in_use: 'McpOAuthError',
  not_signed_in: 'McpOAuthError',
  request_too_large: 'McpOAuthError',
  gateway_closed: 'McpOAuthError',
  storage_error: 'McpOAuthError',
  /** A session that cannot leave this machine (its tokens are bound to a DPoP key that never does). */
  not_exportable: 'McpOAuthError',
  tool_error: 'McpOAuthError',
} as const satisfies Record<string, ErrorKind>;

export type ErrorKind =
  'McpOAuthError' | 'HttpRequestError' | 'InvalidResponseError' | 'OAuthResponseError' | 'CancelledError';
export type ErrorCode = keyof typeof ERROR_CLASSES;
/** The codes of one class. */
export type CodeOf<K extends ErrorKind> = {
  [C in ErrorCode]: (typeof ERROR_CLASSES)[C] extends K ? C : never;
}[ErrorCode];

export interface ErrorOptions {
  readonly cause?: unknown;
}

/** Marks our errors, so `instanceof` also works across bundles (the extension loads its core separately). */
const BRAND = Symbol.for('mcp-oauth.McpOAuthError');

export class McpOAuthError extends Error {
  override name = 'McpOAuthError';
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  constructor(code: CodeOf<'McpOAuthError'>, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
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
  static readonly kind: ErrorKind = 'McpOAuthError';
}

/** The transport failed: network, timeout, size limit, redirect policy, or an HTTP status that is not an answer. */
export class HttpRequestError extends McpOAuthError {
  static override readonly kind: ErrorKind = 'HttpRequestError';
  override name = 'HttpRequestError';
  constructor(code: CodeOf<'HttpRequestError'>, message: string, options?: ErrorOptions) {
    super(code as CodeOf<'McpOAuthError'>, message, options); // the table, not the base signature, decides
  }
}

/** A metadata document, a response body or a URL failed validation; the message names the field. */
export class InvalidResponseError extends McpOAuthError {
  static override readonly kind: ErrorKind = 'InvalidResponseError';
  override name = 'InvalidResponseError';
  constructor(code: CodeOf<'InvalidResponseError'>, message: string, options?: ErrorOptions) {
    super(code as CodeOf<'McpOAuthError'>, message, options);
  }
}

/** The authorization server refused a step: `error` is its OAuth error code when it sent one. */
export class OAuthResponseError extends McpOAuthError {
  static override readonly kind: ErrorKind = 'OAuthResponseError';
  override name = 'OAuthResponseError';
  constructor(
    code: CodeOf<'OAuthResponseError'>,
    message: string,
    readonly error: string | undefined,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(code as CodeOf<'McpOAuthError'>, message, options);
  }
}

/** The user or the caller cancelled. Not shown to the user as an error. The only form cancellation takes. */
export class CancelledError extends McpOAuthError {
  static override readonly kind: ErrorKind = 'CancelledError';
  override name = 'CancelledError';
  constructor(message = 'The operation was cancelled.') {
    super('cancelled' as CodeOf<'McpOAuthError'>, message);
  }
}

/** An error of `code`, of the class the table gives it. `error` and `status` apply to OAuthResponseError. */
export function createError(
  code: ErrorCode,
  message: string,
  options: ErrorOptions & { readonly error?: string; readonly status?: number } = {},
): McpOAuthError {
  const { error, status, ...rest } = options;
  switch (ERROR_CLASSES[code]) {
    case 'HttpRequestError':
      return new HttpRequestError(code as CodeOf<'HttpRequestError'>, message, rest);
    case 'InvalidResponseError':
      return new InvalidResponseError(code as CodeOf<'InvalidResponseError'>, message, rest);
    case 'OAuthResponseError':
      return new OAuthResponseError(code as CodeOf<'OAuthResponseError'>, message, error, status, rest);
    case 'CancelledError':
      return new CancelledError(message);
    case 'McpOAuthError':
      return new McpOAuthError(code as CodeOf<'McpOAuthError'>, message, rest);
  }
}

/**
 * The one way to re-raise: `error` as an error of `code`, keeping it as the `cause`. Our own errors keep
 * their message (it already says what happened); anything else gets `message`. An error that already has
 * `code`, and a cancellation, stay as they are.
 */
export function rewrap(error: unknown, code: ErrorCode, message: string): McpOAuthError {
  if (error instanceof CancelledError || (error instanceof McpOAuthError && error.code === code)) return error;
  return createError(code, error instanceof McpOAuthError ? error.message : message, { cause: error });
}

/** Whether `error` is a cancellation: ours, or an `AbortError` from a fetch or a timer whose signal fired. */
export function isCancellation(error: unknown): boolean {
  return error instanceof CancelledError || (error instanceof Error && error.name === 'AbortError');
}

/**
 * The characters a terminal or an editor acts on instead of showing: C0 controls (ESC starts the CSI, OSC
 * and DCS sequences that clear the screen, write the clipboard with OSC 52 or hide a link with OSC 8; CR
 * lets text overwrite its line), DEL, C1 controls (some terminals take U+009B as CSI and U+009D as OSC),
 * the line and paragraph separators, the bidirectional embeddings, overrides and isolates (they reorder
 * what is read), and lone surrogates. The one definition: {@link quote} and the CLI's terminal output use it.
 */
// eslint-disable-next-line no-control-regex
const ACTIVE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

/**
 * `text` with every active character (see above) but those in `keep` written as a visible `\uXXXX` escape.
 * That is JSON's form, and JSON.stringify leaves active characters only inside strings, so its output stays
 * valid JSON, with the same value, once escaped.
 */
export function escapeControls(text: string, keep = ''): string {
  return text.replace(ACTIVE_CHARACTERS, (c) =>
    keep.includes(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Makes attacker-controlled text safe to put in a message or a log: cleared of the live secrets and of
 * anything shaped like a credential (`safeLine()`) before it is bounded, then JSON-encoded, with the active
 * characters JSON leaves alone (DEL, C1 controls, line separators, bidirectional controls) escaped too.
 * Text that may echo a request's own secrets goes through `safeQuote()`, which scrubs those first.
 */
export function quote(value: unknown, max = 200): string {
  const text = safeLine(typeof value === 'string' ? value : String(value));
  return escapeControls(JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text));
}
