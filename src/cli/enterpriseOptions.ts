import type { ClientCredentials } from '../oauth/client/clientAuth';
import type { CredentialStore } from '../oauth/client/credentials';
import { McpOAuthError } from '../oauth/errors';
import type { AuthEnvironment } from '../oauth/session/environment';
import { IdentityProvider } from '../oauth/session/identityProvider';
import type { FlowOptions } from './args';

/**
 * The enterprise IdP for `--enterprise --idp ISSUER --idp-client-id ID`, sharing the CLI environment's token
 * store (its session is kept in tokens.json next to the servers', under its own key) and reading files with the
 * environment's reader. Undefined without `--idp`.
 */
export function cliIdentityProvider(
  options: Partial<FlowOptions>,
  env: Omit<AuthEnvironment, 'identityProvider'>,
  processEnv: NodeJS.ProcessEnv,
): IdentityProvider | undefined {
  const idp = options.enterpriseIdp;
  if (!idp) return undefined;
  return new IdentityProvider(
    { ...idp, ...(options.idTokenFile ? { idTokenFile: options.idTokenFile } : {}) },
    { ...env, credentials: idpCredentials(idp.clientId, options.idpClientSecretEnv, processEnv) },
  );
}

/** The IdP client's secret, from the variable `--idp-client-secret-env` names. Nothing is ever asked for. */
function idpCredentials(
  clientId: string,
  secretEnv: string | undefined,
  processEnv: NodeJS.ProcessEnv,
): CredentialStore {
  return {
    async lookup(registration): Promise<ClientCredentials> {
      if (registration.clientId !== clientId || !secretEnv) return {};
      const secret = processEnv[secretEnv];
      if (!secret) {
        throw new McpOAuthError(
          'invalid_config',
          `The environment variable ${secretEnv} (named by --idp-client-secret-env) is not set`,
        );
      }
      return { clientSecret: secret };
    },
  };
}
