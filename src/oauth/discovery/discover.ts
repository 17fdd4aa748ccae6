import type { AuthOptions } from '../session/authOptions';
import { fetchAuthServerMetadata, authServerMetadataUrls, type AuthServerMetadata } from './authServerMetadata';
import type { BearerChallenge } from './challenge';
import { InvalidResponseError, McpOAuthError } from '../errors';
import type { FetchLike } from '../http/policyFetch';
import { fetchResourceMetadata, resourceMetadataUrls, type ResourceMetadata } from './resourceMetadata';
import { describeUrl, secureUrl } from '../http/url';

/** Everything discovery learns about a server; cached so that reconnecting sends no discovery request. */
export interface DiscoveredServer {
  readonly serverUrl: string;
  /** The protected resource metadata, when the server publishes it. */
  readonly resourceMetadata?: ResourceMetadata;
  readonly authServer: AuthServerMetadata;
  /** How the authorization server was found. */
  readonly via: 'resource_metadata' | 'override' | 'legacy';
  /** True when no metadata was found at all and the 2025-03-26 default endpoints are being tried. */
  readonly defaultEndpoints?: boolean;
}

/**
 * The URLs the settings name for discovery: the user's choice, so their origins are exempt from the
 * address bound of the server's HTTP policy (serverPolicy.ts). What they serve is not.
 */
export function configuredDiscoveryUrls(options: AuthOptions): string[] {
  return [options.resourceMetadataUrl, options.authorizationServer, options.authorizationServerMetadataUrl].filter(
    (url): url is string => typeof url === 'string',
  );
}

/**
 * Finds the authorization server for an MCP server: RFC 9728 resource metadata (or the configured
 * overrides), then RFC 8414 / OIDC metadata with an exact issuer check. A server that publishes no
 * resource metadata falls back to the 2025-03-26 convention (the AS lives at the server's origin).
 */
export async function discover(
  fetch: FetchLike,
  serverUrl: string,
  options: AuthOptions,
  challenge?: BearerChallenge,
): Promise<DiscoveredServer> {
  let resourceMetadata: ResourceMetadata | undefined;
  let issuer: string | undefined;
  let via: DiscoveredServer['via'] = 'resource_metadata';

  if (options.authorizationServer) {
    secureUrl(options.authorizationServer, 'auth.authorizationServer');
    issuer = options.authorizationServer;
    via = 'override';
  } else {
    const urls = options.resourceMetadataUrl
      ? [secureUrl(options.resourceMetadataUrl, 'auth.resourceMetadataUrl').href]
      : resourceMetadataUrls(serverUrl, challenge?.resourceMetadataUrl);
    resourceMetadata = await fetchResourceMetadata(fetch, serverUrl, urls);
    if (resourceMetadata) {
      issuer = resourceMetadata.authorizationServers[0];
    } else if (options.resourceMetadataUrl) {
      throw new McpOAuthError(
        'metadata_not_found',
        `No resource metadata at ${describeUrl(options.resourceMetadataUrl)} (auth.resourceMetadataUrl); check the setting`,
      );
    } else if (!options.authorizationServerMetadataUrl) {
      issuer = new URL(serverUrl).origin;
      via = 'legacy';
    }
  }

  const metadataUrls = options.authorizationServerMetadataUrl
    ? [secureUrl(options.authorizationServerMetadataUrl, 'auth.authorizationServerMetadataUrl').href]
    : authServerMetadataUrls(issuer!);
  if (options.authorizationServerMetadataUrl && via === 'resource_metadata' && !resourceMetadata) via = 'override';
  // 2025-03-26 servers name no issuer; their metadata at the server's origin may carry any issuer there.
  const authServer = await fetchAuthServerMetadata(fetch, metadataUrls, via === 'legacy' ? undefined : issuer);
  if (authServer && via === 'legacy' && new URL(authServer.issuer).origin !== issuer) {
    throw new InvalidResponseError(
      'issuer_mismatch',
      `authorization server metadata at ${describeUrl(issuer!)} names an issuer on another origin (${describeUrl(authServer.issuer)}); refused`,
    );
  }
  if (authServer) return { serverUrl, ...(resourceMetadata ? { resourceMetadata } : {}), authServer, via };

  if (via === 'legacy') {
    // 2025-03-26: with no metadata at all, the default endpoints at the server's origin apply. That
    // revision made PKCE S256 mandatory for every AS, so it is taken as supported.
    const origin = new URL(serverUrl).origin;
    return {
      serverUrl,
      via,
      defaultEndpoints: true,
      authServer: {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        code_challenge_methods_supported: ['S256'],
      },
    };
  }
  const where = options.authorizationServerMetadataUrl
    ? describeUrl(options.authorizationServerMetadataUrl)
    : describeUrl(issuer!);
  throw new McpOAuthError(
    'metadata_not_found',
    `No authorization server metadata found for ${where}; set auth.authorizationServerMetadataUrl if it is kept at a custom path`,
  );
}
