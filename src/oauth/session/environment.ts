import type { CredentialStore } from '../client/credentials';
import type { ClientStore } from '../client/registration';
import type { DpopKeyStore } from '../dpop/dpopKeys';
import type { Logger } from '../http/logger';
import type { HttpPolicy } from '../http/policyFetch';
import type { RandomBytes } from '../http/random';
import type { TokenStore } from '../tokens/tokenStore';
import type { IdentityProvider } from './identityProvider';

/**
 * Everything the core takes from the program it runs in that is not about the user (that is the
 * {@link SignInHost}): transport, clock, randomness, storage and logging. Built once per host.
 */
export interface AuthEnvironment {
  readonly http: HttpPolicy;
  readonly now: () => number;
  readonly random: RandomBytes;
  readonly logger: Logger;
  readonly tokens: TokenStore;
  readonly clients: ClientStore;
  /** Pre-registered clients' secrets and keys, kept outside the settings. Looked up, never asked for. */
  readonly credentials?: CredentialStore;
  /**
   * Where the DPoP keys (RFC 9449) are kept, one per (server entry, issuer), with the other secrets. Without
   * it no session uses DPoP (`auth.dpop` "required" is then refused).
   */
  readonly dpopKeys?: DpopKeyStore;
  /** Refresh this long before expiry. */
  readonly refreshBeforeMs: number;
  /**
   * Whether a stored session still uses a client registration (any server entry), so that a registration
   * the product replaces is deleted at the authorization server (RFC 7592) only when nothing needs it.
   * Without it, replaced registrations are forgotten locally and left at the AS.
   */
  readonly clientInUse?: (issuer: string, clientId: string) => Promise<boolean>;
  /**
   * The enterprise identity provider (`mcpOAuth.enterpriseIdp`, the CLI's `--idp`) that `enterpriseManaged`
   * servers get their ID-JAGs from: one per host, shared by all of them, so that they share one sign-in there.
   */
  readonly identityProvider?: IdentityProvider;
  /**
   * Reads a text file for the core, which never touches the file system itself: the workload token file of
   * `workloadIdentity` (read again for every token request, since platforms rotate it). The CLI reads with
   * `fs`, the extension with `workspace.fs`.
   */
  readonly readTextFile?: (path: string) => Promise<string>;
}
