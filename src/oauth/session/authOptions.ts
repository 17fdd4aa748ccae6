/** The `auth` block of a server entry (see the README's settings reference), after validation. Never a secret. */
export type Flow = 'auto' | 'authorizationCode' | 'deviceCode' | 'clientCredentials' | 'none';
export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
/** Where the browser comes back: `auto` lets the host's receivers decide, in their order. */
export type RedirectChoice = 'auto' | 'uriHandler' | 'loopback';

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
}
