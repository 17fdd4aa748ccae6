import type { ClientCredentials } from '../client/clientAuth';
import type { ClientNeeds, ClientRegistration } from '../client/registration';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import { CancelledError, McpOAuthError, OAuthResponseError } from '../errors';
import { createAuthorizationRequest, redeemAuthorizationCallback } from '../grants/authorizationCode';
import { clientCredentialsGrant } from '../grants/clientCredentials';
import {
  DEVICE_CODE_GRANT,
  pollDeviceAuthorization,
  sleep,
  startDeviceAuthorization,
  type DeviceClock,
} from '../grants/deviceCode';
import type { DpopProver } from '../dpop/dpopProver';
import type { GrantContext } from '../grants/grantContext';
import { idJagGrant, JWT_BEARER_GRANT, workloadClient, workloadIdentityGrant } from '../grants/jwtBearer';
import { holdSecrets } from '../http/liveSecrets';
import type { Logger } from '../http/logger';
import type { FetchLike } from '../http/policyFetch';
import type { RandomBytes } from '../http/random';
import { describeUrl } from '../http/url';
import type { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import type { FlowPlan, PlannedFlow } from './flowPlan';
import type { FallbackChoice, ReceiverKind, RedirectReceiver, SignInHost } from './host';

/** How long a browser sign-in waits for the authorization response. */
export const CALLBACK_TIMEOUT_MS = 5 * 60_000;
/** How long before the ways out (device code, pasting the URL) are offered while the browser is away. */
export const FALLBACK_AFTER_MS = 20_000;

/** What the flows need from the session that runs them (ServerAuth): one sign-in's inputs and services. */
export interface FlowContext {
  readonly host: SignInHost;
  readonly as: AuthServerMetadata;
  /** The scopes to ask for in a browser or device sign-in (with offline_access where the AS lists it). */
  readonly scopes: Scopes;
  /** The scopes for client credentials (no refresh token comes with that grant). */
  readonly machineScopes: Scopes;
  readonly resource: string | undefined;
  /** Extra authorization request parameters (the `authorizationParams` option). */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  readonly fetch: FetchLike;
  readonly serverUrl: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: RandomBytes;
  /** The DPoP key this sign-in binds its tokens to (RFC 9449), when it uses DPoP; see {@link grantContext}. */
  readonly dpop?: DpopProver;
  /** The redirect path and loopback port the client for this AS uses (a registration per AS, RFC 9700 §4.4). */
  redirect(): Promise<{ path: string; port?: number; fixedPort: boolean }>;
  /** The client: the settings' one, a CIMD URL, or a stored or new dynamic registration that fits `needs`. */
  client(needs: ClientNeeds): Promise<ClientRegistration>;
  /**
   * The pre-registered client, for grants that need one (client credentials, an ID-JAG). `confidential`: with
   * no method in the settings it authenticates with a secret (asked for in the sign-in when none is stored).
   */
  preregisteredClient(grantTypes: readonly string[], options?: { confidential?: boolean }): Promise<ClientRegistration>;
  /** Forgets a dynamic registration that cannot serve (it limits the scopes), so the next one registers anew. */
  replaceRegistration(registration: ClientRegistration): Promise<void>;
  /** The client's credentials for this interactive sign-in: stored ones, else asked of the user once. */
  credentials(client: ClientRegistration): Promise<ClientCredentials>;
  /** Stores the tokens of a finished sign-in and returns them. */
  store(tokens: TokenSet, flow: PlannedFlow['grant'], client: ClientRegistration): Promise<TokenSet>;
  /**
   * `enterpriseManaged`: an ID-JAG for `audience` from the enterprise IdP, which signs the user in there
   * first (through this sign-in's host) when its session cannot be renewed silently. ServerAuth provides this
   * and {@link workloadAssertion}; the IdP's own sign-in, which runs these flows too, has neither.
   */
  identityAssertion?(request: AssertionRequest): Promise<string>;
  /** `workloadIdentity`: the platform's workload JWT, read again now (platforms rotate it). */
  workloadAssertion?(): Promise<string>;
}

/** What an ID-JAG is asked for: the MCP server's authorization server, its resource and the scopes. */
export interface AssertionRequest {
  readonly audience: string;
  readonly resource?: string | undefined;
  readonly scopes: Scopes;
}

/**
 * The GrantContext of a flow's token requests. Every grant gets it from here, so each carries a DPoP proof
 * (and gets tokens bound to the key) whenever the sign-in uses DPoP.
 */
export function grantContext(
  ctx: FlowContext,
  client: ClientRegistration,
  credentials: ClientCredentials,
): GrantContext {
  return { fetch: ctx.fetch, as: ctx.as, client, credentials, now: ctx.now, ...(ctx.dpop ? { dpop: ctx.dpop } : {}) };
}

/** Why a browser sign-in stopped so another flow can take over. */
class SwitchFlow extends Error {
  constructor(readonly to: FallbackChoice) {
    super(`switching to ${to}`);
  }
}

/**
 * Runs a plan: each flow in turn, moving to the next one only for a reason that the next one can fix (the AS
 * refused this redirect, the browser never came back, the user chose another way), and telling the user.
 * Any other failure ends the sign-in with its own error.
 */
export async function runFlows(ctx: FlowContext, plan: FlowPlan): Promise<TokenSet> {
  const flows = [...plan.flows];
  for (let i = 0; i < flows.length; i++) {
    const flow = flows[i]!;
    const rest = flows.slice(i + 1);
    checkCancelled(ctx);
    try {
      switch (flow.grant) {
        case 'authorizationCode':
          return await authorizationCode(ctx, flow.receiver, plan.fallbacks);
        case 'deviceCode':
          return await deviceCode(ctx);
        case 'clientCredentials':
          return await clientCredentials(ctx);
        case 'enterpriseManaged':
          return await enterpriseManaged(ctx);
        case 'workloadIdentity':
          return await workloadIdentity(ctx);
      }
    } catch (error) {
      if (error instanceof SwitchFlow && error.to === 'deviceCode') {
        const device = rest.findIndex((f) => f.grant === 'deviceCode');
        if (device >= 0) {
          i += device; // the loop's i++ lands on it
          continue;
        }
      }
      const next = rest[0];
      if (!next || !(await fallBack(ctx, flow, next, error)))
        throw error instanceof SwitchFlow ? new CancelledError() : error;
    }
  }
  throw new McpOAuthError('unsupported_flow', 'No way to sign in to this server is left; check its auth settings');
}

/** Whether to go on with `next` after `flow` failed with `error`: only for failures `next` can get round. */
async function fallBack(ctx: FlowContext, flow: PlannedFlow, next: PlannedFlow, error: unknown): Promise<boolean> {
  const { host } = ctx;
  if (flow.grant !== 'authorizationCode') return false;
  if (isRefusedRedirect(error) && next.grant === 'authorizationCode') {
    host.progress?.(
      `The authorization server refused this redirect; trying a ${receiverName(next.receiver)} redirect…`,
    );
    ctx.logger.info(
      `[signIn] [${describeUrl(ctx.serverUrl)}] the authorization server refused the ${flow.receiver} redirect; using ${next.receiver}`,
    );
    return true;
  }
  const unreachable =
    error instanceof McpOAuthError && (error.code === 'callback_timeout' || error.code === 'port_in_use');
  if (unreachable && next.grant === 'deviceCode') {
    const reason = error.code === 'port_in_use' ? 'the redirect port is in use' : 'the browser did not come back';
    const go = host.confirm ? await host.confirm({ kind: 'fallback', to: 'deviceCode', reason }) : false;
    if (go) ctx.logger.info(`[signIn] [${describeUrl(ctx.serverUrl)}] ${reason}; signing in with a device code`);
    return go;
  }
  return false;
}

/** A dynamic registration the AS refused because of the redirect URI (RFC 7591 §3.2.2 `invalid_redirect_uri`). */
function isRefusedRedirect(error: unknown): boolean {
  return (
    error instanceof OAuthResponseError &&
    error.code === 'registration_failed' &&
    (error.error === 'invalid_redirect_uri' || error.error === 'invalid_client_metadata')
  );
}

function receiverName(kind: ReceiverKind): string {
  return kind === 'loopback' ? 'loopback (http://127.0.0.1)' : 'editor';
}

/** Authorization code with PKCE through one receiver; a DCR client limited to fewer scopes registers again once. */
async function authorizationCode(
  ctx: FlowContext,
  kind: ReceiverKind,
  fallbacks: readonly FallbackChoice[],
): Promise<TokenSet> {
  const receiver = await openReceiver(ctx, kind);
  try {
    const needs = {
      redirectUri: receiver.redirectUri,
      ...(receiver.port !== undefined ? { loopbackPort: receiver.port } : {}),
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ctx.scopes,
    };
    let client = await ctx.client(needs);
    try {
      return await authorize(ctx, receiver, client, fallbacks);
    } catch (error) {
      // A registration that limits scopes (some ASes fix them at DCR time) cannot step up: register anew.
      if (!(error instanceof OAuthResponseError && error.error === 'invalid_scope' && client.method === 'dcr'))
        throw error;
      ctx.logger.info(
        `[signIn] [${describeUrl(ctx.serverUrl)}] the client registration does not allow the scopes; registering again`,
      );
      await ctx.replaceRegistration(client);
      client = await ctx.client(needs);
      return await authorize(ctx, receiver, client, fallbacks);
    }
  } finally {
    await receiver.close();
  }
}

/** The receiver on the redirect path of this AS; a registered loopback port that is taken gives way to a free one. */
async function openReceiver(ctx: FlowContext, kind: ReceiverKind): Promise<RedirectReceiver> {
  const { path, port, fixedPort } = await ctx.redirect();
  if (kind !== 'loopback' || port === undefined) return ctx.host.openReceiver(kind, { path });
  try {
    return await ctx.host.openReceiver(kind, { path, port, ...(fixedPort ? { exact: true } : {}) });
  } catch (error) {
    if (fixedPort || !(error instanceof McpOAuthError && error.code === 'port_in_use')) throw error;
    return ctx.host.openReceiver(kind, { path });
  }
}

async function authorize(
  ctx: FlowContext,
  receiver: RedirectReceiver,
  client: ClientRegistration,
  fallbacks: readonly FallbackChoice[],
): Promise<TokenSet> {
  const { host } = ctx;
  const pending = await createAuthorizationRequest({
    as: ctx.as,
    client,
    redirectUri: receiver.redirectUri,
    scopes: ctx.scopes,
    random: ctx.random,
    ...(ctx.resource ? { resource: ctx.resource } : {}),
    ...(ctx.authorizationParams ? { authorizationParams: ctx.authorizationParams } : {}),
    ...(ctx.dpop ? { dpopJkt: ctx.dpop.jkt } : {}),
  });
  ctx.logger.info(
    `[signIn] [${describeUrl(ctx.serverUrl)}] authorization request (client ${client.method}, scopes ${JSON.stringify(ctx.scopes.toString())})`,
  );
  checkCancelled(ctx);
  const wait = new AbortController();
  const signals = [wait.signal, host.signal].filter((s): s is AbortSignal => !!s);
  const waiting = receiver.wait(pending.state, { timeoutMs: CALLBACK_TIMEOUT_MS, signal: AbortSignal.any(signals) });
  waiting.catch(() => undefined); // awaited below
  const switching = offerFallbacks(ctx, receiver, fallbacks, wait);
  try {
    host.progress?.('Complete the sign-in in your browser…');
    await host.openBrowser(await receiver.browserUrl(pending.url, pending.state));
    const callback = await Promise.race([waiting, switching.chosen]);
    host.progress?.('Signing in…');
    let tokens: TokenSet;
    try {
      const grant = grantContext(ctx, client, await ctx.credentials(client));
      tokens = await ctx.store(
        await redeemAuthorizationCallback(grant, pending, callback),
        'authorizationCode',
        client,
      );
    } catch (error) {
      receiver.settle(pending.state, { ok: false, message: messageOf(error) });
      throw error;
    }
    receiver.settle(pending.state, { ok: true });
    return tokens;
  } finally {
    switching.stop();
    wait.abort();
  }
}

/**
 * After {@link FALLBACK_AFTER_MS} without the browser coming back, offers the host the ways out. Choosing the
 * device code ends this attempt (`SwitchFlow`); pasting hands the pasted URL to the receiver as if the
 * browser had come back with it.
 */
function offerFallbacks(
  ctx: FlowContext,
  receiver: RedirectReceiver,
  fallbacks: readonly FallbackChoice[],
  wait: AbortController,
): { chosen: Promise<never>; stop(): void } {
  const { host } = ctx;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const offer = new AbortController();
  const chosen = new Promise<never>((_resolve, reject) => {
    if (!host.offerFallbacks || fallbacks.length === 0) return;
    timer = setTimeout(async () => {
      for (;;) {
        const choice = await host.offerFallbacks!(
          { choices: fallbacks, reason: 'the browser has not come back' },
          offer.signal,
        );
        if (offer.signal.aborted || choice === undefined) return;
        if (choice === 'deviceCode') {
          wait.abort();
          reject(new SwitchFlow('deviceCode'));
          return;
        }
        const pasted = await host.askRedirectUrl?.();
        if (offer.signal.aborted || pasted === undefined) return;
        if (receiver.deliver(pasted)) return;
        host.progress?.('That URL does not belong to this sign-in; paste the address the browser ended on.');
      }
    }, FALLBACK_AFTER_MS);
  });
  chosen.catch(() => undefined);
  return {
    chosen,
    stop: () => {
      clearTimeout(timer);
      offer.abort();
    },
  };
}

/** RFC 8628 device authorization: for SSH, Codespaces and machines without a browser redirect. */
async function deviceCode(ctx: FlowContext): Promise<TokenSet> {
  const { host } = ctx;
  const client = await ctx.client({ grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'], scopes: ctx.scopes });
  const grant = grantContext(ctx, client, await ctx.credentials(client));
  const device = await startDeviceAuthorization(grant, { scopes: ctx.scopes, resource: ctx.resource });
  ctx.logger.info(
    `[deviceCode] [${describeUrl(ctx.serverUrl)}] waiting for approval (expires in ${Math.round((device.expiresAt - ctx.now()) / 1000)} s)`,
  );
  await host.showDeviceCode(device);
  const clock: DeviceClock = host.clock ?? { now: Date.now, sleep };
  const tokens = await pollDeviceAuthorization(grant, device, clock, host.signal);
  return ctx.store(tokens, 'deviceCode', client);
}

/** Client credentials, for machine-to-machine access. Needs a pre-registered confidential client. */
async function clientCredentials(ctx: FlowContext): Promise<TokenSet> {
  const client = await ctx.preregisteredClient(['client_credentials']);
  if (client.tokenEndpointAuthMethod === 'none') {
    throw new McpOAuthError(
      'invalid_config',
      'Client credentials need a confidential client: set auth.clientId and provide its secret or private key',
    );
  }
  ctx.host.progress?.('Requesting a token…');
  const grant = grantContext(ctx, client, await ctx.credentials(client));
  const tokens = await clientCredentialsGrant(grant, { scopes: ctx.machineScopes, resource: ctx.resource });
  return ctx.store(tokens, 'clientCredentials', client);
}

/**
 * Enterprise-managed authorization (SEP-990): an ID-JAG from the enterprise IdP (RFC 8693 token exchange of
 * the user's ID token, signing in to the IdP first only when its session cannot be renewed), redeemed as a
 * JWT bearer grant (RFC 7523) by the client registered at the MCP server's authorization server.
 */
async function enterpriseManaged(ctx: FlowContext): Promise<TokenSet> {
  if (!ctx.identityAssertion) throw new McpOAuthError('unsupported_flow', 'This sign-in has no identity provider');
  const client = await ctx.preregisteredClient([JWT_BEARER_GRANT], { confidential: true });
  if (client.tokenEndpointAuthMethod === 'none') {
    throw new McpOAuthError(
      'invalid_config',
      "Enterprise-managed authorization needs a confidential client at the MCP server's authorization server: set auth.clientId and provide its secret or private key",
    );
  }
  const credentials = await ctx.credentials(client);
  ctx.host.progress?.('Getting an identity assertion from your identity provider…');
  const assertion = await ctx.identityAssertion({
    audience: ctx.as.issuer,
    resource: ctx.resource,
    scopes: ctx.machineScopes,
  });
  ctx.host.progress?.('Requesting a token…');
  const grant = grantContext(ctx, client, credentials);
  const release = holdSecrets([assertion]);
  try {
    const tokens = await idJagGrant(grant, { assertion, scopes: ctx.machineScopes, resource: ctx.resource });
    return await ctx.store(tokens, 'enterpriseManaged', client);
  } finally {
    release();
  }
}

/** Workload identity federation (SEP-1933): the platform's workload JWT as a JWT bearer grant, no client at all. */
async function workloadIdentity(ctx: FlowContext): Promise<TokenSet> {
  if (!ctx.workloadAssertion) throw new McpOAuthError('unsupported_flow', 'This sign-in has no workload identity');
  ctx.host.progress?.('Requesting a token with the workload identity…');
  const assertion = await ctx.workloadAssertion();
  const client = workloadClient(ctx.as.issuer, assertion);
  const grant = grantContext(ctx, client, {});
  const tokens = await workloadIdentityGrant(grant, { assertion, scopes: ctx.machineScopes, resource: ctx.resource });
  return ctx.store(tokens, 'workloadIdentity', client);
}

function checkCancelled(ctx: FlowContext): void {
  if (ctx.host.signal?.aborted) throw new CancelledError();
}

function messageOf(error: unknown): string {
  return error instanceof McpOAuthError ? error.message : 'The sign-in failed unexpectedly.';
}
