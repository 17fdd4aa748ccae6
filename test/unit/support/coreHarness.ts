// Wiring for end-to-end tests of the core against the real peers: an AuthEnvironment over in-memory
// stores, a scripted user as the browser, and an MCP client whose 401/403s lead to that user's sign-in.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectToServer } from '../../../src/mcp/serverSession';
import type { ClientCredentials } from '../../../src/oauth/client/clientAuth';
import type { CredentialAnswer } from '../../../src/oauth/client/credentials';
import type { ClientRegistration, ClientStore } from '../../../src/oauth/client/registration';
import type { BearerChallenge } from '../../../src/oauth/discovery/challenge';
import { MemoryDpopKeyStore, type DpopKeyStore } from '../../../src/oauth/dpop/dpopKeys';
import { CancelledError } from '../../../src/oauth/errors';
import type { DeviceAuthorization, DeviceClock } from '../../../src/oauth/grants/deviceCode';
import type { Logger } from '../../../src/oauth/http/logger';
import { defaultHttpPolicy } from '../../../src/oauth/http/policyFetch';
import { cryptoRandom } from '../../../src/oauth/http/random';
import type { AuthOptions } from '../../../src/oauth/session/authOptions';
import { CallbackWaiters } from '../../../src/oauth/session/callbackWaiters';
import type { AuthEnvironment } from '../../../src/oauth/session/environment';
import type {
  CredentialRequest,
  ReceiverKind,
  ReceiverOptions,
  RedirectReceiver,
  SignInHost,
  SignInQuestion,
} from '../../../src/oauth/session/host';
import { ServerAuth, type SignInRequest } from '../../../src/oauth/session/serverAuth';
import { MemoryTokenStore } from '../../../src/oauth/tokens/memoryTokenStore';
import type { TokenSet } from '../../../src/oauth/tokens/tokenSet';
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
  /** Where DPoP keys are kept: in memory by default (as both hosts keep them); `false` for a host that keeps none. */
  dpopKeys?: DpopKeyStore | false;
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
    credentials: { lookup: async () => options.credentials ?? {} },
    ...(options.dpopKeys === false ? {} : { dpopKeys: options.dpopKeys ?? new MemoryDpopKeyStore() }),
    refreshBeforeMs: options.refreshBeforeMs ?? 30_000,
  };
}

export interface TestHostOptions {
  /** Shows the device code (the test's user acting on it); the default fails the test. */
  readonly present?: (device: DeviceAuthorization) => void | Promise<void>;
  readonly clock?: DeviceClock;
  readonly signal?: AbortSignal;
  /** What the user answers when asked for a client secret or key; the default fails the test. */
  readonly credentials?: CredentialAnswer;
  /** The answer to a step-up or fallback question; the default is yes. */
  readonly confirm?: (question: SignInQuestion) => boolean;
}

/**
 * The tests' sign-in host: a user who approves (or denies) in the browser as the scripted user of the test
 * fixtures does, recording the authorization URLs it was shown. The browser "comes back" by handing the
 * callback to the waiting sign-in directly, as a redirect to `redirectUri`'s origin would.
 */
export class ScriptedUser implements SignInHost {
  readonly shown: URL[] = [];
  readonly receivers = ['loopback'] as const;
  readonly asked: CredentialRequest[] = [];
  readonly questions: SignInQuestion[] = [];
  private readonly waiters = new CallbackWaiters();
  readonly signal?: AbortSignal;
  readonly clock?: DeviceClock;

  constructor(
    readonly redirectUri = 'http://127.0.0.1/callback',
    private readonly options: UserOptions = {},
    private readonly host: TestHostOptions = {},
  ) {
    if (host.signal) this.signal = host.signal;
    if (host.clock) this.clock = host.clock;
  }

  /** The same user, for a sign-in that `signal` cancels (what it was shown is recorded here too). */
  withSignal(signal: AbortSignal): this {
    return Object.assign(Object.create(this) as this, { signal });
  }

  /** The redirect URI of the last receiver the core opened (`/callback/<AS>` for a dynamic registration). */
  lastRedirectUri = '';

  async openReceiver(_kind: ReceiverKind, { path }: ReceiverOptions): Promise<RedirectReceiver> {
    const base = new URL(this.redirectUri);
    const redirectUri = `${base.origin}${path}`;
    this.lastRedirectUri = redirectUri;
    const waiters = this.waiters;
    return {
      kind: 'loopback',
      redirectUri,
      browserUrl: async (url) => url,
      wait: (state, { timeoutMs, signal }) => waiters.wait({ state, path, timeoutMs, ...(signal ? { signal } : {}) }),
      deliver: (url) => waiters.deliver(new URL(url)) === 'delivered',
      settle: () => undefined,
      close: async () => undefined,
    };
  }

  async openBrowser(url: string): Promise<void> {
    this.shown.push(new URL(url));
    this.deliverCallback(await approveAuthorization(url, this.options));
  }

  /** The browser came back to `callback`. */
  protected deliverCallback(callback: URL): void {
    if (this.waiters.deliver(callback) === 'unexpected') throw new Error(`no sign-in waits for ${callback.pathname}`);
  }

  async showDeviceCode(device: DeviceAuthorization): Promise<void> {
    if (!this.host.present) assert.fail('a device code was shown to a user who expected none');
    await this.host.present(device);
  }

  async askCredentials(request: CredentialRequest): Promise<CredentialAnswer | undefined> {
    this.asked.push(request);
    if (!this.host.credentials) assert.fail(`the user was asked for ${request.method} credentials`);
    return this.host.credentials;
  }

  async confirm(question: SignInQuestion): Promise<boolean> {
    this.questions.push(question);
    return this.host.confirm ? this.host.confirm(question) : true;
  }
}

/**
 * A host whose "browser" comes back at once with a callback the test builds (what a hostile AS would send),
 * on the redirect URI the authorization request named; counts the authorizations it was shown.
 */
export class CraftedCallbacks extends ScriptedUser {
  calls = 0;
  private crafted: ((url: URL) => void) | undefined;
  constructor(
    private readonly answer: (state: string) => Iterable<readonly [string, string]> | Record<string, string>,
    redirectUri?: string,
  ) {
    super(redirectUri);
  }

  override async openBrowser(url: string): Promise<void> {
    this.calls++;
    const request = new URL(url);
    this.shown.push(request);
    const callback = new URL(request.searchParams.get('redirect_uri')!);
    const answer = this.answer(request.searchParams.get('state') ?? '');
    for (const [k, v] of Symbol.iterator in answer ? answer : Object.entries(answer))
      callback.searchParams.append(k, v);
    this.crafted?.(callback);
  }

  /**
   * A receiver that hands over whatever comes back, whatever its state or path: the core's own checks of
   * the authorization response (state, iss, error, code) are what these tests exercise.
   */
  override async openReceiver(kind: ReceiverKind, options: ReceiverOptions): Promise<RedirectReceiver> {
    const receiver = await super.openReceiver(kind, options);
    return {
      ...receiver,
      wait: (_state, { signal }) =>
        new Promise<URL>((resolve, reject) => {
          this.crafted = resolve;
          signal?.addEventListener('abort', () => reject(new CancelledError()), { once: true });
        }),
    };
  }
}

/** A device-code sign-in by the tests' user, who acts on the code in `present`. */
export function deviceSignIn(
  auth: ServerAuth,
  options: TestHostOptions & { readonly challenge?: BearerChallenge; readonly extraScopes?: readonly string[] },
): Promise<TokenSet> {
  const { challenge, extraScopes, ...host } = options;
  return auth.signIn(new ScriptedUser(undefined, {}, host), {
    flow: 'deviceCode',
    ...(challenge ? { challenge } : {}),
    ...(extraScopes ? { extraScopes } : {}),
  });
}

/** A client-credentials sign-in: no user at all. */
export function machineSignIn(auth: ServerAuth, request: SignInRequest = {}): Promise<TokenSet> {
  return auth.signIn(new ScriptedUser(), { flow: 'clientCredentials', ...request });
}

export function connectWithSignIn(auth: ServerAuth, user: SignInHost): Promise<Client> {
  return connectToServer(auth, user);
}

export function newServerAuth(env: AuthEnvironment, url: string, options: AuthOptions = {}): ServerAuth {
  return new ServerAuth(env, url, options);
}

/** The text content of a tool result. */
export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((part) => part.text ?? '').join('');
}
