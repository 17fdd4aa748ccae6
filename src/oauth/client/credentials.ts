import type { ClientCredentials } from './clientAuth';
import type { ClientRegistration } from './registration';

/**
 * Where a pre-registered client's secret or private key is kept: SecretStorage in VS Code, an environment
 * variable or a key file named on the CLI's command line. Split in two so that only an interactive sign-in
 * can ever lead to a prompt: `lookup` never asks anyone (every refresh and background path uses only it),
 * and what the user gives during a sign-in (the host's `askCredentials`) is handed to `save`.
 */
export interface CredentialStore {
  /** The stored secret or key for `registration`, or `{}`. Never prompts, never opens a dialog. */
  lookup(registration: ClientRegistration): Promise<ClientCredentials>;
  /** Keeps what the user gave in a sign-in, once it proved usable (a key that does not load is never kept). */
  save?(registration: ClientRegistration, answer: CredentialAnswer): Promise<void>;
}

/** What a user gives when asked: a client secret, or the text of a PKCS#8 PEM private key. */
export type CredentialAnswer = { readonly clientSecret: string } | { readonly privateKeyPem: string };

/** The credential `registration` still lacks for its token endpoint authentication, if any. */
export function missingCredential(
  registration: ClientRegistration,
  credentials: ClientCredentials,
): 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | undefined {
  switch (registration.tokenEndpointAuthMethod) {
    case 'none':
      return undefined;
    case 'private_key_jwt':
      return credentials.privateKey ? undefined : 'private_key_jwt';
    case 'client_secret_basic':
    case 'client_secret_post':
      return registration.clientSecret || credentials.clientSecret ? undefined : registration.tokenEndpointAuthMethod;
  }
}
