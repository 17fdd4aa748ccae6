import type { ClientCredentials } from '../client/clientAuth';
import type { ClientRegistration, ClientStore } from '../client/registration';
import type { HttpPolicy } from '../http/policyFetch';
import type { Logger } from '../http/logger';
import type { RandomBytes } from '../http/random';
import type { TokenStore } from '../tokens/tokenStore';

/** Everything the core takes from its host: transport, clock, randomness, storage, secrets and logging. */
export interface AuthEnvironment {
  readonly http: HttpPolicy;
  readonly now: () => number;
  readonly random: RandomBytes;
  readonly logger: Logger;
  readonly tokens: TokenStore;
  readonly clients: ClientStore;
  /** Credentials kept outside settings (SecretStorage, an environment variable), for a registration. */
  readonly credentials?: (registration: ClientRegistration) => Promise<ClientCredentials>;
  /** Refresh this long before expiry. */
  readonly refreshBeforeMs: number;
}

/**
 * How the user's browser reaches the authorization server and comes back: a loopback receiver and the
 * system browser (CLI), the URI handler (VS Code), or a scripted agent (tests, conformance).
 */
export interface AuthorizationUserAgent {
  /** Where the AS sends the browser back; known before the client is registered. */
  readonly redirectUri: string;
  /** Shows `authorizationUrl` to the user and resolves with the callback URL that carries `state`. */
  authorize(authorizationUrl: string, state: string, signal?: AbortSignal): Promise<URL>;
}
