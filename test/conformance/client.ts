// A thin adapter that lets the official MCP conformance suite drive our OAuth core: the suite runs
// `node out/conformance-client.js <server-url>` once per scenario, with MCP_CONFORMANCE_SCENARIO and, for
// scenarios with pre-registered credentials, MCP_CONFORMANCE_CONTEXT set. Exit code 0 means the client
// believes it succeeded; the suite judges what it saw on the wire.
import { authorizedFetch } from '../../src/mcp/authorizedFetch';
import { callTool, connectMcp, listAllTools } from '../../src/mcp/mcpConnection';
import type { AuthEnvironment, AuthorizationUserAgent } from '../../src/oauth/session/environment';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import type { ClientRegistration } from '../../src/oauth/client/registration';
import { defaultHttpPolicy } from '../../src/oauth/http/policyFetch';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import { loadPrivateKey } from '../../src/oauth/client/privateKey';
import { cryptoRandom } from '../../src/oauth/http/random';
import { ServerAuth } from '../../src/oauth/session/serverAuth';

const serverUrl = process.argv[process.argv.length - 1]!;
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}') as Record<string, string | undefined>;

/** The suite's authorization endpoint redirects straight back: follow it without fetching the redirect URI. */
const redirectUri = 'http://127.0.0.1:3000/callback';
const agent: AuthorizationUserAgent = {
  redirectUri,
  async authorize(url) {
    let next = new URL(url);
    for (let hop = 0; hop < 10; hop++) {
      const response = await fetch(next, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (!location) throw new Error(`authorization endpoint answered ${response.status} without a redirect`);
      next = new URL(location, next);
      if (next.href.startsWith(redirectUri)) return next;
    }
    throw new Error('too many redirects');
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
  credentials: async () => ({
    ...(context.client_secret ? { clientSecret: context.client_secret } : {}),
    ...(context.private_key_pem
      ? { privateKey: await loadPrivateKey(context.private_key_pem, context.signing_algorithm) }
      : {}),
  }),
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
  const fetch = authorizedFetch({
    fetch: globalThis.fetch,
    tokens: auth.tokenManager(),
    signIn: async (challenge, extraScopes) => {
      const request = { ...(challenge ? { challenge } : {}), ...(extraScopes ? { extraScopes } : {}) };
      await (clientCredentials ? auth.signInWithClientCredentials(request) : auth.signIn(agent, request));
    },
  });
  const client = await connectMcp(serverUrl, fetch);
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
