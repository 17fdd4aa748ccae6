import type { ClientCredentials } from '../oauth/client/clientAuth';
import type { CredentialStore } from '../oauth/client/credentials';
import { McpOAuthError } from '../oauth/errors';
import type { AuthOptions } from '../oauth/session/authOptions';
import type { AuthEnvironment } from '../oauth/session/environment';
import { IdentityProvider } from '../oauth/session/identityProvider';
import type { FlowOptions } from './args';

/**
 * The enterprise-managed and workload identity options of `login`, `tools` and `call`, as the parser
 * (args.ts) gives them in {@link FlowOptions}: `--enterprise` sets `flow` to `enterpriseManaged`,
 * `--workload-token-file` sets it to `workloadIdentity`. None holds a secret: `--idp-client-secret-env` names
 * the variable that does, and the two files are read when a token is requested, never at parse time.
 */
export interface EnterpriseFlowOptions {
  /** `--idp ISSUER`: the enterprise identity provider. */
  readonly idpIssuer?: string;
  /** `--idp-client-id ID`: the MCP client as registered at the IdP. */
  readonly idpClientId?: string;
  /** `--idp-client-secret-env VAR`: the variable holding that client's secret. */
  readonly idpClientSecretEnv?: string;
  /** `--id-token-file FILE`: an ID token obtained elsewhere, instead of signing in to the IdP in the browser. */
  readonly idTokenFile?: string;
  /** `--workload-token-file FILE`: the platform's workload JWT (read again for every token request). */
  readonly workloadTokenFile?: string;
}

/** The CLI's flow options with the enterprise and workload ones (one type once args.ts parses them). */
export type CliFlowOptions = Partial<FlowOptions> & EnterpriseFlowOptions;

/**
 * The `auth` options the enterprise and workload flags add to what `authOptionsFrom` maps: the workload token
 * file. (Once `authOptionsFrom` maps `workloadTokenFile` itself, this adds nothing new.)
 */
export function enterpriseAuthOptions(options: CliFlowOptions): Pick<AuthOptions, 'workloadTokenFile'> {
  return options.workloadTokenFile ? { workloadTokenFile: options.workloadTokenFile } : {};
}

/**
 * The enterprise IdP for `--enterprise`, sharing the CLI environment's token store (its session is kept in
 * tokens.json next to the servers', under its own key) and reading files with the environment's reader.
 * Undefined without `--idp`.
 */
export function cliIdentityProvider(
  options: CliFlowOptions,
  env: Omit<AuthEnvironment, 'identityProvider'>,
  processEnv: NodeJS.ProcessEnv,
): IdentityProvider | undefined {
  const { idpIssuer, idpClientId } = options;
  if (!idpIssuer) return undefined;
  if (!idpClientId) throw new McpOAuthError('invalid_config', '--idp needs --idp-client-id');
  return new IdentityProvider(
    {
      issuer: idpIssuer,
      clientId: idpClientId,
      ...(options.idTokenFile ? { idTokenFile: options.idTokenFile } : {}),
    },
    { ...env, credentials: idpCredentials(options, processEnv) },
  );
}

/** The IdP client's secret, from the variable `--idp-client-secret-env` names. Nothing is ever asked for. */
function idpCredentials(options: CliFlowOptions, processEnv: NodeJS.ProcessEnv): CredentialStore {
  return {
    async lookup(registration): Promise<ClientCredentials> {
      if (registration.clientId !== options.idpClientId || !options.idpClientSecretEnv) return {};
      const secret = processEnv[options.idpClientSecretEnv];
      if (!secret) {
        throw new McpOAuthError(
          'invalid_config',
          `The environment variable ${options.idpClientSecretEnv} (named by --idp-client-secret-env) is not set`,
        );
      }
      return { clientSecret: secret };
    },
  };
}
