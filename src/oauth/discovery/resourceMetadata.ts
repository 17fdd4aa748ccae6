import { InvalidResponseError, quote } from '../errors';
import { Fields, receivedUrl } from '../http/fields';
import type { FetchLike } from '../http/policyFetch';
import { describeUrl, resourceCovers, secureUrl } from '../http/url';
import { firstMetadataDocument } from './metadataDocument';

/** RFC 9728 protected resource metadata, validated. */
export interface ResourceMetadata {
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopesSupported?: readonly string[];
  /** RFC 9449 / RFC 9728 §2: the DPoP proof algorithms the server takes, when it says. */
  readonly dpopSigningAlgs?: readonly string[];
  /** RFC 9728 §2 `dpop_bound_access_tokens_required`: the server takes only DPoP-bound tokens. */
  readonly dpopBoundTokensRequired?: boolean;
  /** Where it was found, for diagnostics. */
  readonly source: string;
}

/**
 * The URLs to try, in the MCP authorization spec's order: the `resource_metadata` URL from the challenge,
 * then the path-aware well-known URL, then the root one.
 */
export function resourceMetadataUrls(serverUrl: string, fromChallenge?: string): string[] {
  const server = new URL(serverUrl);
  const urls: string[] = [];
  if (fromChallenge) urls.push(challengedMetadataUrl(fromChallenge, server).href);
  const path = server.pathname.replace(/\/$/, '');
  if (path) urls.push(new URL(`/.well-known/oauth-protected-resource${path}`, server).href);
  urls.push(new URL('/.well-known/oauth-protected-resource', server).href);
  return [...new Set(urls)];
}

/**
 * The challenge's `resource_metadata`, which must be on the server's origin: a 401 is the one answer any
 * server can send, so it may not point the client at another host (security property 6). The refusal is
 * `invalid_challenge`, since the challenge is what is wrong; a server that keeps its metadata elsewhere is
 * configured with auth.resourceMetadataUrl, and then discovery never reads the challenge's URL.
 */
function challengedMetadataUrl(value: string, server: URL): URL {
  const url = secureUrl(value, 'WWW-Authenticate "resource_metadata"');
  if (url.origin !== server.origin) {
    throw new InvalidResponseError(
      'invalid_challenge',
      `WWW-Authenticate "resource_metadata" (${quote(describeUrl(url))}) is not on the server's origin ${server.origin}; refused. If the server keeps its metadata there, set auth.resourceMetadataUrl to it`,
    );
  }
  return url;
}

/** Fetches the first metadata document found; only a 404 (or 4xx) moves on to the next URL. */
export async function fetchResourceMetadata(
  fetch: FetchLike,
  serverUrl: string,
  urls: readonly string[],
): Promise<ResourceMetadata | undefined> {
  const found = await firstMetadataDocument(fetch, urls, 'resource metadata');
  return found && processResourceMetadata(found.body, serverUrl, found.url);
}

/** Validates a protected resource metadata document for `serverUrl`. */
export function processResourceMetadata(
  body: Record<string, unknown>,
  serverUrl: string,
  source: string,
): ResourceMetadata {
  const fields = new Fields(body, 'resource metadata');
  const resource = fields.string('resource');
  if (!resourceCovers(resource, serverUrl)) {
    throw new InvalidResponseError(
      'resource_mismatch',
      `resource metadata "resource" (${describeUrl(resource)}) does not match the server URL ${describeUrl(serverUrl)}`,
    );
  }
  const authorizationServers = fields.stringArray('authorization_servers');
  if (authorizationServers.length === 0)
    fields.fail('authorization_servers', 'must name at least one authorization server');
  authorizationServers.forEach((issuer, i) => {
    receivedUrl(issuer, `resource metadata "authorization_servers[${i}]"`, 'invalid_metadata');
  });
  const scopesSupported = fields.optionalStringArray('scopes_supported');
  const dpopSigningAlgs = fields.optionalStringArray('dpop_signing_alg_values_supported');
  const dpopBoundTokensRequired = fields.optionalBoolean('dpop_bound_access_tokens_required');
  return {
    resource,
    authorizationServers,
    ...(scopesSupported ? { scopesSupported } : {}),
    ...(dpopSigningAlgs ? { dpopSigningAlgs } : {}),
    ...(dpopBoundTokensRequired !== undefined ? { dpopBoundTokensRequired } : {}),
    source,
  };
}
