// A thin adapter that lets the official MCP conformance suite drive our OAuth core: the suite runs
// `node out/conformance-client.js <server-url>` once per scenario, with MCP_CONFORMANCE_SCENARIO and, for
// scenarios with pre-registered credentials, MCP_CONFORMANCE_CONTEXT set. Exit code 0 means the client
// believes it succeeded; the suite judges what it saw on the wire.
import { callTool, listAllTools } from '../../src/mcp/mcpConnection';
import { connectToServer } from '../../src/mcp/serverSession';
import type { ClientRegistration } from '../../src/oauth/client/registration';
import { loadPrivateKey } from '../../src/oauth/client/privateKey';
import { defaultHttpPolicy } from '../../src/oauth/http/policyFetch';
import { cryptoRandom } from '../../src/oauth/http/random';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import { CallbackWaiters } from '../../src/oauth/session/callbackWaiters';
import type { AuthEnvironment } from '../../src/oauth/session/environment';
import type { SignInHost } from '../../src/oauth/session/host';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';

const serverUrl = process.argv[process.argv.length - 1]!;
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}') as Record<string, string | undefined>;

/**
 * The suite's authorization endpoint redirects straight back: the "browser" follows redirects until it
 * reaches the redirect URI, without fetching it, and hands that callback to the waiting sign-in.
 */
const origin = 'http://127.0.0.1:3000';
const waiters = new CallbackWaiters();
const host: SignInHost = {
  receivers: ['loopback'],
  async openReceiver(_kind, { path }) {
    return {
      kind: 'loopback',
      redirectUri: `${origin}${path}`,
      browserUrl: async (url) => url,
      wait: (state, { timeoutMs, signal }) => waiters.wait({ state, path, timeoutMs, ...(signal ? { signal } : {}) }),
      deliver: (url) => waiters.deliver(new URL(url)) === 'delivered',
      settle: () => undefined,
      close: async () => undefined,
    };
  },
  async openBrowser(url) {
    let next = new URL(url);
    for (let hop = 0; hop < 10; hop++) {
      const response = await fetch(next, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (!location) throw new Error(`authorization endpoint answered ${response.status} without a redirect`);
      next = new URL(location, next);
      if (next.origin === origin) {
        waiters.deliver(next);
        return;
      }
    }
    throw new Error('too many redirects');
  },
  showDeviceCode: async () => {
    throw new Error('the conformance suite has no device flow');
  },
};

const clients = new Map<string, ClientRegistration>();
const env: AuthEnvironment = {
  http: defaultHttpPolicy(),
  now: Date.now,
  random: cryptoRandom,
  logger: {
    trace() {},
    debug() {},
    info: (m) => console.error(m),
    warn: (m) => console.error(m),
    error: (m) => console.error(m),
  },
  tokens: new MemoryTokenStore(),
  clients: {
    get: async (k) => clients.get(k),
    set: async (k, v) => void clients.set(k, v),
    delete: async (k) => void clients.delete(k),
  },
  credentials: {
    lookup: async () => ({
      ...(context.client_secret ? { clientSecret: context.client_secret } : {}),
      ...(context.private_key_pem
        ? { privateKey: await loadPrivateKey(context.private_key_pem, context.signing_algorithm) }
        : {}),
    }),
  },
  refreshBeforeMs: 60_000,
};
const clientCredentials = (process.env.MCP_CONFORMANCE_SCENARIO ?? '').includes('client-credentials');
const options: AuthOptions = {
  clientMetadataUrl: 'https://conformance-test.local/client-metadata.json',
  ...(context.client_id ? { clientId: context.client_id } : {}),
  ...(clientCredentials
    ? {
        flow: 'clientCredentials',
        tokenEndpointAuthMethod: context.private_key_pem ? 'private_key_jwt' : 'client_secret_basic',
      }
    : {}),
};

async function main(): Promise<void> {
  const auth = new ServerAuth(env, serverUrl, options);
  const client = await connectToServer(auth, host);
  const tools = await listAllTools(client);
  for (const tool of tools) await callTool(client, tool.name, {});
  await client.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`conformance client failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
