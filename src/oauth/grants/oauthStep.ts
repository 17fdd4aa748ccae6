import * as oauth from 'oauth4webapi';
import { InvalidResponseError, McpOAuthError, OAuthResponseError, quote, type CodeOf } from '../errors';
import type { FetchLike } from '../http/policyFetch';
import { carriedBy, safeQuote, secretValues, withoutSecrets, type Secrets } from '../http/requestSecrets';

/**
 * Options for every oauth4webapi request: our policy fetch does the transport (https except loopback,
 * timeouts, size limits, redirects), so oauth4webapi's own http check is left to it.
 */
export function requestOptions(fetch: FetchLike, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    [oauth.customFetch]: (url: string, init: RequestInit) => fetch(url, init),
    [oauth.allowInsecureRequests]: true,
  };
}

/** Runs an oauth4webapi step and turns its errors into ours, keeping the original as `cause`. */
/** The code a step fails with when the authorization server refuses it. */
export type StepCode = CodeOf<'OAuthResponseError'>;

export async function oauthStep<T>(
  what: string,
  code: StepCode,
  step: () => Promise<T> | T,
  secrets?: Secrets,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw toMcpOAuthError(error, what, code, secrets);
  }
}

/**
 * `error` as one of ours. No message built from the answer repeats a secret: neither `secrets` (what the
 * caller holds) nor what the request carried (the transport noted it on the response).
 */
export function toMcpOAuthError(error: unknown, what: string, code: StepCode, secrets: Secrets = []): McpOAuthError {
  if (error instanceof McpOAuthError) return error;
  const response = (error as { response?: unknown })?.response ?? (error as { cause?: unknown })?.cause;
  const known = [...secretValues(secrets), ...carriedBy(response)];
  if (error instanceof oauth.ResponseBodyError) {
    const description =
      typeof error.error_description === 'string' ? `: ${safeQuote(error.error_description, known)}` : '';
    return new OAuthResponseError(
      code,
      `${what} failed with ${safeQuote(error.error, known)} (HTTP ${error.status})${description}`,
      withoutSecrets(error.error, known),
      error.status,
      { cause: error },
    );
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    const denied = error.error === 'access_denied';
    return new OAuthResponseError(
      denied ? 'authorization_denied' : 'authorization_failed',
      denied
        ? 'The authorization was denied. Sign in again and approve the request to continue.'
        : `The authorization server returned ${quote(error.error)}`,
      error.error,
      undefined,
      { cause: error },
    );
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new OAuthResponseError(
      code,
      `${what} was refused (HTTP ${error.status})`,
      withoutSecrets(error.cause[0]?.parameters.error ?? 'invalid_client', known),
      error.status,
      { cause: error },
    );
  }
  // oauth4webapi parses OAuth error bodies on 4xx only; a 5xx (or 429) is the server being unavailable.
  if (
    error instanceof oauth.OperationProcessingError &&
    error.cause instanceof Response &&
    (error.cause.status >= 500 || error.cause.status === 429)
  ) {
    const status = error.cause.status;
    return new OAuthResponseError(
      code,
      `${what} failed: the authorization server answered HTTP ${status}; try again later`,
      'server_error',
      status,
      { cause: error },
    );
  }
  if (
    error instanceof oauth.OperationProcessingError ||
    error instanceof oauth.UnsupportedOperationError ||
    error instanceof TypeError
  ) {
    const malformed =
      code === 'token_error' || code === 'refresh_failed' ? 'invalid_token_response' : 'invalid_response';
    return new InvalidResponseError(malformed, `${what}: ${error.message}`, { cause: error });
  }
  return new OAuthResponseError(code, `${what} failed`, undefined, undefined, { cause: error });
}
