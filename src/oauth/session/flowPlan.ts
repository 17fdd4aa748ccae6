import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import { McpOAuthError } from '../errors';
import { assertDeviceFlowSupported } from '../grants/deviceCode';
import { JWT_BEARER_GRANT } from '../grants/jwtBearer';
import { describeUrl } from '../http/url';
import type { AuthOptions } from './authOptions';
import type { FallbackChoice, ReceiverKind } from './host';

/** One way to sign in, in the order the core tries them. */
export type PlannedFlow =
  | { readonly grant: 'authorizationCode'; readonly receiver: ReceiverKind }
  | { readonly grant: 'deviceCode' }
  | { readonly grant: 'clientCredentials' }
  /** Enterprise-managed authorization (SEP-990): an ID-JAG from the enterprise IdP, as a JWT bearer grant. */
  | { readonly grant: 'enterpriseManaged' }
  /** Workload identity federation (SEP-1933): the platform's workload JWT as a JWT bearer grant. */
  | { readonly grant: 'workloadIdentity' };

export interface FlowPlan {
  /** What to try, in order: each next entry is a fallback, shown to the user, for the one before it. */
  readonly flows: readonly PlannedFlow[];
  /** The ways out offered while the browser has not come back (the device code, pasting the redirect URL). */
  readonly fallbacks: readonly FallbackChoice[];
}

export interface PlanInput {
  readonly options: AuthOptions;
  readonly as: AuthServerMetadata;
  /** The host's receivers, best first, and whether it can ask for a pasted redirect URL. */
  readonly receivers: readonly ReceiverKind[];
  readonly canPaste: boolean;
  /** A flow the user asked for explicitly ("Sign In with Device Code…", `--device`), over the settings. */
  readonly requested?: 'deviceCode' | 'clientCredentials';
}

/**
 * The flows to try for a sign-in, from the settings, the authorization server's metadata and what the host
 * can do. `auto` (the default) is the browser through the host's best receiver, then its other receivers
 * when the authorization server refuses one, and the device code when the browser cannot come back (the
 * AS must offer it), with pasting the redirect URL as the last way out. An explicit flow is exactly that
 * flow. Refuses with `unsupported_flow` when nothing can work, before anything is sent.
 */
export function planFlows(input: PlanInput): FlowPlan {
  const { options, as } = input;
  const flow = input.requested ?? options.flow ?? 'auto';
  const device = !!as.device_authorization_endpoint;
  switch (flow) {
    case 'none':
      throw new McpOAuthError('invalid_config', 'This server is configured with auth.flow "none": it needs no sign-in');
    case 'clientCredentials':
      return { flows: [{ grant: 'clientCredentials' }], fallbacks: [] };
    case 'enterpriseManaged':
      assertJwtBearerSupported(as, 'enterprise-managed authorization');
      if (
        as.authorization_grant_profiles_supported &&
        !as.authorization_grant_profiles_supported.includes(ID_JAG_PROFILE)
      ) {
        throw new McpOAuthError(
          'unsupported_flow',
          `The authorization server ${describeUrl(as.issuer)} lists the authorization grant profiles it accepts, and the ID-JAG profile (${ID_JAG_PROFILE}) is not one of them; enterprise-managed authorization cannot work there`,
        );
      }
      return { flows: [{ grant: 'enterpriseManaged' }], fallbacks: [] };
    case 'workloadIdentity':
      assertJwtBearerSupported(as, 'workload identity federation');
      if (!options.workloadTokenFile) {
        throw new McpOAuthError(
          'invalid_config',
          'auth.flow "workloadIdentity" needs auth.workloadTokenFile: the file where the platform puts the workload token',
        );
      }
      return { flows: [{ grant: 'workloadIdentity' }], fallbacks: [] };
    case 'deviceCode':
      assertDeviceFlowSupported(as);
      return { flows: [{ grant: 'deviceCode' }], fallbacks: [] };
    case 'authorizationCode':
    case 'auto': {
      const browser = as.authorization_endpoint ? receiversFor(options, input.receivers) : [];
      const flows: PlannedFlow[] = browser.map((receiver) => ({ grant: 'authorizationCode', receiver }));
      const withDevice = flow === 'auto' && device;
      if (withDevice) flows.push({ grant: 'deviceCode' });
      if (flows.length === 0) {
        if (!as.authorization_endpoint) {
          throw new McpOAuthError(
            'unsupported_flow',
            `The authorization server ${describeUrl(as.issuer)} has no authorization endpoint${device ? '' : ' and no device code flow'}; ${device ? 'sign in with a device code' : 'use client credentials'}, or check auth.authorizationServer`,
          );
        }
        throw new McpOAuthError(
          'invalid_config',
          `auth.redirect is ${JSON.stringify(options.redirect)}, which this editor cannot receive; set it to "auto" or "loopback"`,
        );
      }
      const fallbacks: FallbackChoice[] = [];
      if (withDevice) fallbacks.push('deviceCode');
      if (input.canPaste && browser.length > 0) fallbacks.push('pasteRedirect');
      return { flows, fallbacks };
    }
  }
}

/** The profile identifier of the ID-JAG in `authorization_grant_profiles_supported` (the ID-JAG draft's §7.2). */
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

/**
 * Refuses early an authorization server whose `grant_types_supported` leaves out the JWT bearer grant. Many
 * servers publish no list at all; that is taken as no answer, and the token request itself tells.
 */
function assertJwtBearerSupported(as: AuthServerMetadata, what: string): void {
  if (as.grant_types_supported && !as.grant_types_supported.includes(JWT_BEARER_GRANT)) {
    throw new McpOAuthError(
      'unsupported_flow',
      `The authorization server ${describeUrl(as.issuer)} does not offer the JWT bearer grant (${JWT_BEARER_GRANT}) in "grant_types_supported", which ${what} needs`,
    );
  }
}

/** The host's receivers that the `redirect` setting allows, in the host's order. */
function receiversFor(options: AuthOptions, offered: readonly ReceiverKind[]): ReceiverKind[] {
  const redirect = options.redirect ?? 'auto';
  // A fixed loopback port means the client was registered with that loopback redirect: use only it.
  if (redirect === 'loopback' || (redirect === 'auto' && options.loopbackPort !== undefined)) {
    return offered.includes('loopback') ? ['loopback'] : [];
  }
  if (redirect === 'uriHandler') return offered.includes('uriHandler') ? ['uriHandler'] : [];
  return [...offered];
}
