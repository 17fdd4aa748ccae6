/** The `auth` block of a server entry (see the README's settings reference), after validation. Never a secret. */
export type Flow =
  'auto' | 'authorizationCode' | 'deviceCode' | 'clientCredentials' | 'enterpriseManaged' | 'workloadIdentity' | 'none';
export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
/** Where the browser comes back: `auto` lets the host's receivers decide, in their order. */
export type RedirectChoice = 'auto' | 'uriHandler' | 'loopback';
/**
 * RFC 9449 sender-constrained tokens: `auto` when the MCP server signals DPoP and the authorization server
 * advertises it, `required` refuses a server or AS that cannot, `off` never.
 */
export type DpopPolicy = 'auto' | 'required' | 'off';

export interface AuthOptions {
  readonly flow?: Flow;
  /** A pre-registered client id (GitHub, Google, Entra ID, Okta …). */
  readonly clientId?: string;
  /** A Client ID Metadata Document URL, used as the client id when the AS supports CIMD. */
  readonly clientMetadataUrl?: string;
  readonly scopes?: readonly string[];
  /** RFC 8707 resource override; `false` never sends one (Entra ID rejects it alongside scopes). */
  readonly resource?: string | false;
  readonly resourceMetadataUrl?: string;
  readonly authorizationServer?: string;
  readonly authorizationServerMetadataUrl?: string;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  readonly redirect?: RedirectChoice;
  /** A fixed port for the loopback redirect, for clients whose registration names one. */
  readonly loopbackPort?: number;
  readonly dpop?: DpopPolicy;
  /**
   * Extra authorization request parameters (Auth0's `audience`, Google's `access_type` and `prompt`). The
   * names the protocol itself sets (`client_id`, `redirect_uri`, `state`, `scope`, …) are refused as settings.
   */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** `workloadIdentity`: the file holding the platform's workload JWT, read again for every token request. */
  readonly workloadTokenFile?: string;
}

/**
 * The company's identity provider for enterprise-managed authorization (`mcpOAuth.enterpriseIdp`, the CLI's
 * `--idp`): the user signs in there once, and every `enterpriseManaged` server gets its tokens from it.
 */
export interface EnterpriseIdpOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes?: readonly string[];
}

/** Parameter names an authorization request sets itself: never taken from `authorizationParams`. */
export const RESERVED_AUTHORIZATION_PARAMS: readonly string[] = [
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'response_type',
  'scope',
  'resource',
  'dpop_jkt',
];
