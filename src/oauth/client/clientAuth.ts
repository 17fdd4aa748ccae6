import * as oauth from 'oauth4webapi';
import type { ClientRegistration } from './registration';
import { McpOAuthError } from '../errors';

/** Client credentials that never live in settings: a secret, or a private key for private_key_jwt. */
export interface ClientCredentials {
  readonly clientSecret?: string;
  readonly privateKey?: oauth.PrivateKey;
}

/** The oauth4webapi client object for a registration. */
export function toClient(registration: ClientRegistration): oauth.Client {
  return { client_id: registration.clientId, token_endpoint_auth_method: registration.tokenEndpointAuthMethod };
}

/** The token endpoint authentication for a registration, refusing clearly when its credential is missing. */
export function clientAuthentication(
  registration: ClientRegistration,
  credentials: ClientCredentials = {},
): oauth.ClientAuth {
  const secret = registration.clientSecret ?? credentials.clientSecret;
  switch (registration.tokenEndpointAuthMethod) {
    case 'none':
      return oauth.None();
    case 'client_secret_basic':
    case 'client_secret_post':
      if (!secret) {
        throw new McpOAuthError(
          'invalid_config',
          `The client ${JSON.stringify(registration.clientId)} needs a client secret (${registration.tokenEndpointAuthMethod}); provide it and try again`,
        );
      }
      return registration.tokenEndpointAuthMethod === 'client_secret_basic'
        ? clientSecretBasic(secret)
        : oauth.ClientSecretPost(secret);
    case 'private_key_jwt':
      if (!credentials.privateKey) {
        throw new McpOAuthError(
          'invalid_config',
          `The client ${JSON.stringify(registration.clientId)} needs a private key (private_key_jwt); provide it and try again`,
        );
      }
      return oauth.PrivateKeyJwt(credentials.privateKey);
  }
}

/**
 * HTTP Basic client authentication (RFC 6749 §2.3.1). The id and secret are form-urlencoded, but the
 * characters URL encoding leaves alone (`-`, `.`, `_`, `~` …) stay as they are: oauth4webapi escapes them
 * too, which servers that skip the decoding step (many do) then reject. Both forms decode the same.
 */
function clientSecretBasic(secret: string): oauth.ClientAuth {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return (_as, client, _body, headers) => {
    headers.set(
      'authorization',
      `Basic ${Buffer.from(`${encode(client.client_id)}:${encode(secret)}`).toString('base64')}`,
    );
  };
}
