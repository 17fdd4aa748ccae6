// Wiring for end-to-end tests of the core against the real peers: an AuthEnvironment over in-memory
// stores, a scripted user as the browser, and an MCP client whose 401/403s lead to that user's sign-in.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authorizedFetch } from '../../../src/mcp/authorizedFetch';
import { connectMcp } from '../../../src/mcp/mcpConnection';
import type { AuthEnvironment, AuthorizationUserAgent } from '../../../src/oauth/session/environment';
import type { AuthOptions } from '../../../src/oauth/session/authOptions';
import type { ClientCredentials } from '../../../src/oauth/client/clientAuth';
import type { ClientRegistration, ClientStore } from '../../../src/oauth/client/registration';
import { defaultHttpPolicy } from '../../../src/oauth/http/policyFetch';
import type { Logger } from '../../../src/oauth/http/logger';
import { MemoryTokenStore } from '../../../src/oauth/tokens/memoryTokenStore';
import { cryptoRandom } from '../../../src/oauth/http/random';
import { ServerAuth } from '../../../src/oauth/session/serverAuth';
import type { TokenStore } from '../../../src/oauth/tokens/tokenStore';
import { approveAuthorization, type UserOptions } from '../../fixtures/userAgent';

export class MemoryClientStore implements ClientStore {
  readonly entries = new Map<string, ClientRegistration>();
  async get(issuer: string) {
    return this.entries.get(issuer);
  }
  async set(issuer: string, registration: ClientRegistration) {
    this.entries.set(issuer, registration);
  }
  async delete(issuer: string) {
    this.entries.delete(issuer);
  }
}

/** Log lines, kept so tests can check that no secret was ever logged. */
export class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  private add =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      this.lines.push(`${level} ${message} ${args.map(String).join(' ')}`);
    };
  trace = this.add('trace');
  debug = this.add('debug');
  info = this.add('info');
  warn = this.add('warn');
  error = this.add('error');
}

export interface HarnessOptions {
  tokens?: TokenStore;
  clients?: ClientStore;
  credentials?: ClientCredentials;
  now?: () => number;
  refreshBeforeMs?: number;
}

export function coreEnvironment(
  options: HarnessOptions = {},
): AuthEnvironment & { logger: RecordingLogger; tokens: TokenStore; clients: ClientStore } {
  return {
    http: { ...defaultHttpPolicy(), timeoutMs: 5000 },
    now: options.now ?? Date.now,
    random: cryptoRandom,
    logger: new RecordingLogger(),
    tokens: options.tokens ?? new MemoryTokenStore(),
    clients: options.clients ?? new MemoryClientStore(),
    credentials: async () => options.credentials ?? {},
    refreshBeforeMs: options.refreshBeforeMs ?? 30_000,
  };
}

/** A user who approves (or denies) in the browser; records the authorization URLs it was shown. */
export class ScriptedUser implements AuthorizationUserAgent {
  readonly shown: URL[] = [];
  constructor(
    readonly redirectUri = 'http://127.0.0.1/callback',
    private readonly options: UserOptions = {},
  ) {}
  async authorize(url: string): Promise<URL> {
    this.shown.push(new URL(url));
    return approveAuthorization(url, this.options);
  }
}

export async function connectWithSignIn(auth: ServerAuth, user: AuthorizationUserAgent): Promise<Client> {
  const fetch = authorizedFetch({
    fetch: globalThis.fetch,
    tokens: auth.tokenManager(),
    signIn: async (challenge, extraScopes) => {
      await auth.signIn(user, { ...(challenge ? { challenge } : {}), ...(extraScopes ? { extraScopes } : {}) });
    },
  });
  return connectMcp(auth.serverUrl, fetch);
}

export function newServerAuth(env: AuthEnvironment, url: string, options: AuthOptions = {}): ServerAuth {
  return new ServerAuth(env, url, options);
}

/** The text content of a tool result. */
export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((part) => part.text ?? '').join('');
}
