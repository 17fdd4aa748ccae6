import { readFile } from 'node:fs/promises';
import type { AuthEnvironment } from '../oauth/session/environment';
import type { AuthOptions } from '../oauth/session/authOptions';
import type { ClientCredentials } from '../oauth/client/clientAuth';
import type { ClientRegistration, ClientStore } from '../oauth/client/registration';
import { isStoredDpopKey, type DpopKeyStore, type StoredDpopKey } from '../oauth/dpop/dpopKeys';
import { McpOAuthError } from '../oauth/errors';
import { FileTokenStore } from './store/fileTokenStore';
import { defaultHttpPolicy } from '../oauth/http/policyFetch';
import { JsonFileStore } from './store/jsonFileStore';
import { safeLine, type Logger } from '../oauth/http/logger';
import { loadPrivateKey } from '../oauth/client/privateKey';
import { cryptoRandom } from '../oauth/http/random';
import { holdingSecrets } from '../oauth/tokens/holdingSecrets';
import type { FlowOptions } from './args';
import { cliIdentityProvider } from './enterpriseOptions';
import { statePaths } from './paths';
import { inert } from './terminalText';

/** Diagnostics on stderr; `MCP_OAUTH_DEBUG=1` adds the step-by-step trace. Never a token or secret. */
export function stderrLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const debug = env.MCP_OAUTH_DEBUG === '1';
  const write = (level: string) => (message: string) =>
    process.stderr.write(`[${level}] ${inert(safeLine(message))}\n`);
  const off = () => undefined;
  return {
    trace: off,
    debug: debug ? write('debug') : off,
    info: debug ? write('info') : off,
    warn: write('warn'),
    error: write('error'),
  };
}

/** The CLI's host: 0600 files under $MCP_OAUTH_HOME (or the config directory), secrets from the environment. */
export function cliEnvironment(
  options: Partial<FlowOptions> = {},
  env: NodeJS.ProcessEnv = process.env,
): AuthEnvironment {
  const paths = statePaths({ env });
  const clients = new JsonFileStore<ClientRegistration>(paths.clientsFile);
  const clientStore: ClientStore = {
    get: (k) => clients.get(k),
    set: (k, v) => clients.set(k, v),
    delete: (k) => clients.delete(k),
  };
  const base: AuthEnvironment = {
    http: defaultHttpPolicy(),
    now: Date.now,
    random: cryptoRandom,
    logger: stderrLogger(env),
    tokens: holdingSecrets(new FileTokenStore(paths.tokensFile)),
    clients: clientStore,
    dpopKeys: fileDpopKeys(paths.dpopKeysFile),
    refreshBeforeMs: 120_000,
    // The workload token file and the ID token file: read for every token request, never at start.
    readTextFile: (file) => readFile(file, 'utf8'),
    // The secret's variable and the key file are named on the command line; nothing is ever asked for.
    credentials: { lookup: (registration) => lookupCredentials(registration, options, env) },
    clientInUse: async (issuer, clientId) => {
      const tokens = new FileTokenStore(paths.tokensFile);
      for (const key of await tokens.keys()) {
        const held = await tokens.get(key).catch(() => undefined);
        if (held?.issuer === issuer && held.clientId === clientId) return true;
      }
      return false;
    },
  };
  const identityProvider = cliIdentityProvider(options, base, env);
  return identityProvider ? { ...base, identityProvider } : base;
}

/**
 * DPoP keys in `dpop-keys.json` (0600, in the private state directory, like the tokens), keyed by server and
 * issuer. A damaged entry is a `storage_error` naming the file; a key is never printed.
 */
function fileDpopKeys(file: string): DpopKeyStore {
  const keys = new JsonFileStore<StoredDpopKey>(file, { isValue: isStoredDpopKey });
  const key = (entry: string, issuer: string) => `${entry} ${issuer}`;
  return {
    get: (entry, issuer) => keys.get(key(entry, issuer)),
    set: (entry, issuer, value) => keys.set(key(entry, issuer), value),
    delete: (entry, issuer) => keys.delete(key(entry, issuer)),
  };
}

/** A pre-registered client's secret (from the named environment variable) or key (from the named file). */
async function lookupCredentials(
  registration: ClientRegistration,
  options: Partial<FlowOptions>,
  env: NodeJS.ProcessEnv,
): Promise<ClientCredentials> {
  if (registration.clientId !== options.clientId) return {};
  if (options.privateKeyFile) {
    const pem = await readFile(options.privateKeyFile, 'utf8').catch((error: unknown) => {
      throw new McpOAuthError('invalid_config', `Cannot read the private key file named by --private-key`, {
        cause: error,
      });
    });
    return { privateKey: await loadPrivateKey(pem) };
  }
  if (!options.clientSecretEnv) return {};
  const secret = env[options.clientSecretEnv];
  if (!secret) {
    throw new McpOAuthError(
      'invalid_config',
      `The environment variable ${options.clientSecretEnv} (named by --client-secret-env) is not set`,
    );
  }
  return { clientSecret: secret };
}

/** The CLI's flow options as the core's `auth` options. */
export function authOptionsFrom(options: Partial<FlowOptions>): AuthOptions {
  return {
    ...(options.flow ? { flow: options.flow } : {}),
    ...(options.clientId ? { clientId: options.clientId } : {}),
    ...(options.privateKeyFile ? { tokenEndpointAuthMethod: 'private_key_jwt' as const } : {}),
    ...(options.clientMetadataUrl ? { clientMetadataUrl: options.clientMetadataUrl } : {}),
    ...(options.scopes?.length ? { scopes: options.scopes } : {}),
    ...(options.resource !== undefined ? { resource: options.resource } : {}),
    ...(options.resourceMetadataUrl ? { resourceMetadataUrl: options.resourceMetadataUrl } : {}),
    ...(options.authorizationServer ? { authorizationServer: options.authorizationServer } : {}),
    ...(options.authorizationServerMetadataUrl
      ? { authorizationServerMetadataUrl: options.authorizationServerMetadataUrl }
      : {}),
    ...(options.redirectPort ? { redirect: 'loopback' as const, loopbackPort: options.redirectPort } : {}),
    ...(options.dpop ? { dpop: options.dpop } : {}),
    ...(options.authorizationParams ? { authorizationParams: options.authorizationParams } : {}),
    ...(options.workloadTokenFile ? { workloadTokenFile: options.workloadTokenFile } : {}),
  };
}
