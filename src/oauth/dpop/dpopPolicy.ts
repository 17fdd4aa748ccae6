import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import type { BearerChallenge } from '../discovery/challenge';
import type { ResourceMetadata } from '../discovery/resourceMetadata';
import { McpOAuthError, quote } from '../errors';
import { describeUrl } from '../http/url';
import type { DpopPolicy } from '../session/authOptions';
import { DPOP_ALGS, type DpopAlg } from './dpopKeys';

/** What the MCP server and its authorization server say about DPoP. */
export interface DpopSignals {
  readonly serverUrl: string;
  /** The challenge the server answered with (a DPoP challenge, or DPoP next to Bearer). */
  readonly challenge?: BearerChallenge | undefined;
  readonly resourceMetadata?: ResourceMetadata | undefined;
  readonly as: AuthServerMetadata;
  /** Whether the host keeps DPoP keys at all (AuthEnvironment.dpopKeys). */
  readonly canKeepKeys: boolean;
}

/**
 * The decision for one sign-in: the algorithms proofs may be signed with (every one both servers and this client
 * take, best first: a stored key of any of them is kept), or Bearer tokens and why.
 */
export type DpopDecision =
  | { readonly use: true; readonly algs: readonly [DpopAlg, ...DpopAlg[]] }
  | { readonly use: false; readonly why: string };

/**
 * Whether a sign-in uses DPoP (RFC 9449), and with which algorithm.
 *
 * - `auto` (the default) uses it when the MCP server signals it (a DPoP challenge, or
 *   `dpop_signing_alg_values_supported` / `dpop_bound_access_tokens_required` in its resource metadata) and the
 *   authorization server advertises `dpop_signing_alg_values_supported`, with an algorithm both take (and this
 *   client signs: ES256 first). An authorization server that advertises DPoP is not enough: many do while their
 *   resource servers take only Bearer tokens, and those servers keep getting Bearer tokens.
 * - `required` is the same test, but a server or authorization server that fails it is refused with
 *   `dpop_unsupported`, before anything is sent to the token endpoint, naming what to change.
 * - `off` never uses it.
 */
export function decideDpop(policy: DpopPolicy | undefined, signals: DpopSignals): DpopDecision {
  const mode = policy ?? 'auto';
  if (mode === 'off') return { use: false, why: 'auth.dpop is "off"' };
  const { challenge, resourceMetadata: prm, as } = signals;
  const server = describeUrl(signals.serverUrl);
  const refuse = (why: string, fix: string): DpopDecision => {
    if (mode === 'auto') return { use: false, why };
    throw new McpOAuthError('dpop_unsupported', `auth.dpop is "required", but ${why}; ${fix}`);
  };
  const offered = !!challenge?.dpop || prm?.dpopSigningAlgs !== undefined || prm?.dpopBoundTokensRequired === true;
  if (!offered) {
    return refuse(
      `${server} does not offer DPoP (neither its WWW-Authenticate challenge nor its resource metadata names it)`,
      'set auth.dpop to "auto" or "off" to use Bearer tokens with it',
    );
  }
  const asAlgs = as.dpop_signing_alg_values_supported;
  if (!asAlgs?.length) {
    return refuse(
      `its authorization server ${describeUrl(as.issuer)} does not advertise DPoP (no "dpop_signing_alg_values_supported")`,
      'set auth.dpop to "auto" to use Bearer tokens, or use an authorization server that issues DPoP-bound tokens',
    );
  }
  // The challenge's `algs` are what the server takes right now; the metadata's are the general statement.
  const serverAlgs = challenge?.dpop?.algs ?? prm?.dpopSigningAlgs;
  const algs = DPOP_ALGS.filter((a) => asAlgs.includes(a) && (!serverAlgs?.length || serverAlgs.includes(a)));
  if (algs.length === 0) {
    return refuse(
      `${server} (${quote(serverAlgs?.join(' ') ?? '', 80)}) and its authorization server (${quote(asAlgs.join(' '), 80)}) take no DPoP algorithm this client signs with (${DPOP_ALGS.join(', ')}) in common`,
      'set auth.dpop to "auto" to use Bearer tokens',
    );
  }
  if (!signals.canKeepKeys) {
    return refuse('this host keeps no DPoP keys', 'set auth.dpop to "auto" to use Bearer tokens');
  }
  return { use: true, algs: algs as [DpopAlg, ...DpopAlg[]] };
}
