import * as oauth from 'oauth4webapi';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import { CancelledError, InvalidResponseError, McpOAuthError, OAuthResponseError } from '../errors';
import { issuedBy, oauthClient, tokenRequest, type GrantContext } from './grantContext';
import { oauthStep, requestOptions } from './oauthStep';
import type { Scopes } from '../tokens/scopes';
import { toTokenSet } from './tokenResponse';
import type { TokenSet } from '../tokens/tokenSet';
import { receivedUrl } from '../http/fields';
import { describeUrl } from '../http/url';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** What the user is shown. `deviceCode` is a credential: never display or log it. */
export interface DeviceAuthorization {
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete?: string;
  readonly expiresAt: number;
  readonly intervalMs: number;
  readonly deviceCode: string;
  readonly scopes: Scopes;
  readonly resource?: string;
}

export interface DeviceClock {
  readonly now: () => number;
  /** Resolves after `ms`, or rejects with CancelledError when `signal` aborts. Injected so tests don't wait. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Refuses with `unsupported_flow`, naming the flows left, when the AS has no device authorization endpoint. */
export function assertDeviceFlowSupported(as: AuthServerMetadata): void {
  if (!as.device_authorization_endpoint) {
    throw new McpOAuthError(
      'unsupported_flow',
      `The authorization server ${describeUrl(as.issuer)} does not offer the device code flow (no "device_authorization_endpoint"); sign in with the browser flow instead${as.grant_types_supported?.includes('client_credentials') ? ', or use client credentials' : ''}`,
    );
  }
}

/** What a device authorization asks for. */
export interface DeviceRequest {
  readonly scopes: Scopes;
  readonly resource?: string | undefined;
}

/** RFC 8628 §3.1–3.2: asks the AS for a device code and user code. */
export async function startDeviceAuthorization(
  ctx: GrantContext,
  request: DeviceRequest,
): Promise<DeviceAuthorization> {
  const { as } = ctx;
  assertDeviceFlowSupported(as);
  const { scopes, resource } = request;
  const params: Record<string, string> = {};
  if (!scopes.isEmpty) params.scope = scopes.toString();
  if (resource) params.resource = resource;
  const { client, auth } = oauthClient(ctx);
  const response = await oauthStep('The device authorization request', 'authorization_failed', () =>
    oauth.deviceAuthorizationRequest(as, client, auth, params, requestOptions(ctx.fetch)),
  );
  const body = await oauthStep('The device authorization request', 'authorization_failed', () =>
    oauth.processDeviceAuthorizationResponse(as, client, response),
  );
  const verificationUri = checkedUri(body.verification_uri, 'verification_uri');
  const verificationUriComplete =
    body.verification_uri_complete === undefined
      ? undefined
      : checkedUri(body.verification_uri_complete, 'verification_uri_complete');
  if (!(body.expires_in > 0))
    throw new InvalidResponseError(
      'invalid_response',
      'device authorization response "expires_in" must be a positive number',
    );
  if (body.interval !== undefined && !(body.interval > 0 && body.interval <= 60)) {
    throw new InvalidResponseError(
      'invalid_response',
      'device authorization response "interval" must be a number from 1 to 60',
    );
  }
  return {
    userCode: body.user_code,
    verificationUri,
    ...(verificationUriComplete ? { verificationUriComplete } : {}),
    expiresAt: ctx.now() + body.expires_in * 1000,
    intervalMs: (body.interval ?? 5) * 1000,
    deviceCode: body.device_code,
    scopes,
    ...(resource ? { resource } : {}),
  };
}

/**
 * RFC 8628 §3.4–3.5: polls the token endpoint at `interval` (5 s by default), 5 s slower after each
 * `slow_down`, until approval, denial, expiry or cancellation.
 */
export async function pollDeviceAuthorization(
  ctx: GrantContext,
  device: DeviceAuthorization,
  clock: DeviceClock,
  signal?: AbortSignal,
): Promise<TokenSet> {
  const { as } = ctx;
  const { client, auth } = oauthClient(ctx);
  let interval = device.intervalMs;
  for (;;) {
    await clock.sleep(interval, signal);
    if (signal?.aborted) throw new CancelledError();
    if (clock.now() >= device.expiresAt) throw expired();
    const requestedAt = clock.now();
    try {
      const extra = device.resource ? { additionalParameters: { resource: device.resource } } : {};
      const result = await tokenRequest(
        ctx,
        { what: 'The device token request', code: 'token_error' },
        (options) => oauth.deviceCodeGrantRequest(as, client, auth, device.deviceCode, options),
        (response) => oauth.processDeviceCodeResponse(as, client, response),
        { ...extra, ...(signal ? { signal } : {}) },
      );
      return toTokenSet(result, issuedBy(ctx, { scopes: device.scopes, resource: device.resource, now: requestedAt }));
    } catch (error) {
      if (!(error instanceof OAuthResponseError)) throw error;
      switch (error.error) {
        case 'authorization_pending':
          continue;
        case 'slow_down':
          interval += 5000;
          continue;
        case 'expired_token':
          throw expired();
        case 'access_denied':
          throw new OAuthResponseError(
            'authorization_denied',
            'The sign-in was denied on the verification page. Start again and approve it to continue.',
            error.error,
            error.status,
          );
        default:
          throw error;
      }
    }
  }
}

function expired(): OAuthResponseError {
  return new OAuthResponseError(
    'device_code_expired',
    'The device code expired before it was approved; start the sign-in again',
    'expired_token',
    undefined,
  );
}

/** The verification page is opened in a browser: it must be https (or loopback http), never `javascript:`. */
function checkedUri(value: string, field: string): string {
  return receivedUrl(value, `device authorization response "${field}"`, 'invalid_response').href;
}

/** A real sleep that honours cancellation. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
