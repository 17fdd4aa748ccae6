// The reference client: only @modelcontextprotocol/sdk. `auth()` (driven by StreamableHTTPClientTransport on
// its 401) with an in-memory OAuthClientProvider shaped like the SDK's own example
// (examples/client/simpleOAuthClientProvider). redirectToAuthorization approves headlessly (the same scripted
// user as ours) and calls transport.finishAuth(code); the connect attempt that met the 401 then fails with
// UnauthorizedError and the client connects again on a new transport, as the SDK's simpleOAuthClient does.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  UnauthorizedError,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { FetchLike } from '../src/oauth/http/policyFetch';
import { approveAuthorization } from '../test/fixtures/userAgent';

const REDIRECT_URL = 'http://127.0.0.1/callback';
const CLIENT_INFO = { name: 'sdk-reference', version: '1.0.0' };

/** In memory, like the SDK example; `cacheDiscovery` adds the optional discoveryState/saveDiscoveryState pair. */
export class InMemoryProvider implements OAuthClientProvider {
  private information: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier: string | undefined;
  private discovery: OAuthDiscoveryState | undefined;
  /** Set while a transport is connecting: where redirectToAuthorization hands the code. */
  transport: StreamableHTTPClientTransport | undefined;
  discoveryState?: () => OAuthDiscoveryState | undefined;
  saveDiscoveryState?: (state: OAuthDiscoveryState) => void;

  constructor(cacheDiscovery: boolean) {
    if (cacheDiscovery) {
      this.discoveryState = () => this.discovery;
      this.saveDiscoveryState = (state) => {
        this.discovery = state;
      };
    }
  }

  get redirectUrl(): string {
    return REDIRECT_URL;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK reference client',
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.information = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const callback = await approveAuthorization(authorizationUrl.href);
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`the authorization server sent no code: ${callback.search}`);
    if (!this.transport) throw new Error('no transport to finish the authorization on');
    await this.transport.finishAuth(code);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('No code verifier saved');
    return this.verifier;
  }
}

export interface SdkConnected {
  readonly client: Client;
  readonly tools: Tool[];
}

async function attempt(url: string, fetch: FetchLike, provider: InMemoryProvider): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch });
  provider.transport = transport;
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return client;
}

async function listAll(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** From nothing to the first tools/list. */
export async function sdkColdConnect(url: string, fetch: FetchLike, provider: InMemoryProvider): Promise<SdkConnected> {
  let client: Client;
  try {
    client = await attempt(url, fetch, provider);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    client = await attempt(url, fetch, provider);
  }
  return { client, tools: await listAll(client) };
}

/** A new connection with the provider's stored, valid token. */
export async function sdkWarmConnect(url: string, fetch: FetchLike, provider: InMemoryProvider): Promise<SdkConnected> {
  const client = await attempt(url, fetch, provider);
  return { client, tools: await listAll(client) };
}
