import type { AuthorizationServer } from 'oauth4webapi';
import { InvalidResponseError, McpOAuthError } from '../errors';
import { Fields } from '../http/fields';
import type { FetchLike } from '../http/policyFetch';
import { describeUrl, secureUrl } from '../http/url';
import { firstMetadataDocument } from './metadataDocument';

/** Validated RFC 8414 / OIDC metadata, in the shape oauth4webapi takes. Only checked fields are kept. */
export type AuthServerMetadata = AuthorizationServer & {
  readonly client_id_metadata_document_supported?: boolean;
  /** The ID-JAG draft's §7.2: the authorization grant profiles it accepts (the ID-JAG's among them, or not). */
  readonly authorization_grant_profiles_supported?: string[];
};

/**
 * The metadata URLs for an issuer, in the MCP authorization spec's order: RFC 8414 with path insertion,
 * OIDC with path insertion, OIDC with path appending (or the two root forms for an issuer without a path).
 */
export function authServerMetadataUrls(issuer: string): string[] {
  const url = secureUrl(issuer, 'authorization server issuer');
  const path = url.pathname.replace(/\/$/, '');
  if (!path) {
    return [
      new URL('/.well-known/oauth-authorization-server', url).href,
      new URL('/.well-known/openid-configuration', url).href,
    ];
  }
  return [
    new URL(`/.well-known/oauth-authorization-server${path}`, url).href,
    new URL(`/.well-known/openid-configuration${path}`, url).href,
    new URL(`${path}/.well-known/openid-configuration`, url).href,
  ];
}

/**
 * Fetches the first metadata document found at `urls`. `expectedIssuer` is compared exactly (RFC 8414 §3.3);
 * without one (a metadata URL override with no known issuer) the document's own issuer is taken.
 */
export async function fetchAuthServerMetadata(
  fetch: FetchLike,
  urls: readonly string[],
  expectedIssuer: string | undefined,
): Promise<AuthServerMetadata | undefined> {
  const found = await firstMetadataDocument(fetch, urls, 'authorization server metadata');
  return found && processAuthServerMetadata(found.body, expectedIssuer);
}

export function processAuthServerMetadata(
  body: Record<string, unknown>,
  expectedIssuer: string | undefined,
): AuthServerMetadata {
  const f = new Fields(body, 'authorization server metadata');
  f.url('issuer');
  const issuer = f.string('issuer');
  if (new URL(issuer).search) f.fail('issuer', 'must not contain a query');
  if (expectedIssuer !== undefined && !sameIssuer(issuer, expectedIssuer)) {
    throw new InvalidResponseError(
      'issuer_mismatch',
      `authorization server metadata "issuer" ${describeUrl(issuer)} is not the expected issuer ${describeUrl(expectedIssuer)}`,
    );
  }
  const metadata: Record<string, unknown> = { issuer, token_endpoint: f.url('token_endpoint') };
  for (const field of [
    'authorization_endpoint',
    'registration_endpoint',
    'revocation_endpoint',
    'introspection_endpoint',
    'device_authorization_endpoint',
    'jwks_uri',
    'userinfo_endpoint',
  ] as const) {
    const value = f.optionalUrl(field);
    if (value !== undefined) metadata[field] = value;
  }
  for (const field of [
    'scopes_supported',
    'response_types_supported',
    'grant_types_supported',
    'code_challenge_methods_supported',
    'token_endpoint_auth_methods_supported',
    'token_endpoint_auth_signing_alg_values_supported',
    'id_token_signing_alg_values_supported',
    'revocation_endpoint_auth_methods_supported',
    'authorization_grant_profiles_supported',
    'dpop_signing_alg_values_supported',
  ] as const) {
    const value = f.optionalStringArray(field);
    if (value !== undefined) metadata[field] = value;
  }
  for (const field of [
    'authorization_response_iss_parameter_supported',
    'client_id_metadata_document_supported',
  ] as const) {
    const value = f.optionalBoolean(field);
    if (value !== undefined) metadata[field] = value;
  }
  return metadata as AuthServerMetadata;
}

/** RFC 8414 requires identical issuers; a trailing slash on a root issuer is the only difference tolerated. */
export function sameIssuer(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const ua = new URL(a),
      ub = new URL(b);
    return ua.pathname === '/' && ub.pathname === '/' && ua.href === ub.href;
  } catch {
    return false;
  }
}

/** Refuses an authorization-code sign-in against an AS that does not advertise PKCE S256. */
export function assertPkceS256(metadata: AuthServerMetadata): void {
  if (!metadata.code_challenge_methods_supported?.includes('S256')) {
    throw new McpOAuthError(
      'pkce_unsupported',
      `The authorization server ${describeUrl(metadata.issuer)} does not advertise PKCE S256 ("code_challenge_methods_supported"); sign-in refused as the MCP authorization spec requires`,
    );
  }
}
