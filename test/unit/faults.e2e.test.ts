// Faults against the real peers (oidc-provider and an SDK-built MCP server): the authorization server down,
// slow or failing during sign-in; the MCP server restarting mid-session behind the token gateway; a busy
// loopback callback port; and cancellation at every interactive step. Each must end in a clear typed error
// (or a recovery), never in half-stored state. (Refresh outages are in headless.e2e.test.ts.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { authorizedFetch } from '../../src/mcp/authorizedFetch';
import { connectMcp, listAllTools } from '../../src/mcp/mcpConnection';
import { TokenGateway } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource } from '../../src/mcp/gateway/gatewayTokens';
import type { ClientRegistration } from '../../src/oauth/client/registration';
import type { DeviceAuthorization } from '../../src/oauth/grants/deviceCode';
import { CancelledError, McpOAuthError, OAuthResponseError, type ErrorCode } from '../../src/oauth/errors';
import type { FetchLike } from '../../src/oauth/http/policyFetch';
import { cryptoRandom } from '../../src/oauth/http/random';
import type { ReceiverKind, ReceiverOptions, RedirectReceiver } from '../../src/oauth/session/host';
import { startLoopbackReceiver } from '../../src/oauth/session/loopbackReceiver';
import { issuerKey } from '../../src/oauth/session/serverAuth';
import { startAuthServer, type AsFault, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { staticClients } from '../fixtures/testClients';
import { approveAuthorization, Browser } from '../fixtures/userAgent';
import { ensureCliBuilt, REPO, runCli } from './support/cliRunner';
import {
  coreEnvironment,
  deviceSignIn,
  type MemoryClientStore,
  newServerAuth,
  ScriptedUser,
  text,
} from './support/coreHarness';
import { closedPort, connectViaGateway, signInHint } from './support/gatewayHarness';
import { connectWithTokens, DEVICE_GRANT, VirtualClock } from './support/headlessHarness';

const registrations = (as: AuthServer) => as.requests.filter((r) => r.method === 'POST' && r.path === '/reg').length;
const tokenRequests = (as: AuthServer) => as.requests.filter((r) => r.method === 'POST' && r.path === '/token').length;

/** Resolves with what `promise` rejected with; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<McpOAuthError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(outcome !== undefined, 'expected a rejection, but it resolved');
  assert.ok(
    outcome instanceof McpOAuthError,
    `expected an McpOAuthError, got ${String((outcome as Error)?.name)}: ${String((outcome as Error)?.message)}`,
  );
  return outcome;
}

/** A stored registration is either absent or whole: a client id, the method, the grants and the redirect it was made for. */
function assertWholeRegistration(
  registration: ClientRegistration | undefined,
  as: AuthServer,
  redirectUri?: string,
): void {
  if (!registration) return;
  assert.equal(registration.issuer, as.issuer);
  assert.equal(registration.method, 'dcr');
  assert.match(registration.clientId, /\S/);
  assert.ok(registration.grantTypes.length > 0);
  if (redirectUri) assert.deepEqual(registration.redirectUris, [redirectUri]);
}

describe('faults against real peers', function () {
  this.timeout(15_000);
  let as: AuthServer;
  let split: McpServerFixture;

  before(async () => {
    as = await startAuthServer({ slowMs: 1500, clients: staticClients({ keys: [] }) });
    split = await startSplitDomainServer({ as });
  });
  afterEach(() => as.setFault(undefined));
  after(async () => {
    await split.close();
    await as.close();
  });

  describe('the authorization server down, slow or failing during sign-in', () => {
    const steps = [
      { step: 'discovery', paths: undefined, codes: { '500': 'http_error', down: 'network_error', slow: 'timeout' } },
      {
        step: 'registration',
        paths: ['/reg'],
        codes: { '500': 'registration_failed', down: 'network_error', slow: 'timeout' },
      },
      {
        step: 'the token request',
        paths: ['/token'],
        codes: { '500': 'token_error', down: 'network_error', slow: 'timeout' },
      },
    ] as const;
    const clear: Record<ErrorCode, RegExp> = {
      http_error: /answered HTTP 500/,
      registration_failed: /HTTP 500; try again later/,
      token_error: /HTTP 500; try again later/,
      network_error: /Could not reach http:\/\/127\.0\.0\.1:\d+\//,
      timeout: /did not answer within \d+ m?s/,
    } as Record<ErrorCode, RegExp>;

    for (const { step, paths, codes } of steps) {
      for (const fault of ['500', 'down', 'slow'] as AsFault[]) {
        const code = codes[fault] as ErrorCode;
        it(`${fault} during ${step} → ${code} with a clear message, nothing stored; a later sign-in works`, async () => {
          const base = coreEnvironment();
          const env = { ...base, http: { ...base.http, timeoutMs: 500 } };
          const auth = newServerAuth(env, split.url);
          const user = new ScriptedUser();
          const registeredBefore = registrations(as);
          as.setFault(fault, paths ? [...paths] : undefined);
          let error: McpOAuthError;
          try {
            error = await rejection(auth.signIn(user));
          } finally {
            as.setFault(undefined);
          }
          assert.equal(error.code, code, `${error.code}: ${error.message}`);
          assert.match(error.message, clear[code]);
          if (fault === '500' && step !== 'discovery') {
            assert.ok(error instanceof OAuthResponseError, error.name);
            assert.equal(error.status, 500, 'the 5xx status is kept, so it reads as transient');
          }
          assert.equal(await env.tokens.get(auth.tokenKey), undefined, 'no tokens stored');
          const registration = await env.clients.get(as.issuer);
          if (step === 'the token request') {
            assertWholeRegistration(registration, as, user.lastRedirectUri);
            assert.ok(registration, 'the registration made before the token request is kept, whole');
          } else {
            assert.equal(registration, undefined, 'no client registration stored');
            assert.equal(user.shown.length, 0, 'the browser never opened');
          }

          const tokens = await auth.signIn(user);
          assert.deepEqual(await env.tokens.get(auth.tokenKey), tokens, 'the later sign-in stored its tokens');
          if (step === 'the token request')
            assert.equal(registrations(as) - registeredBefore, 1, 'the kept registration was reused');
          const client = await connectWithTokens(auth);
          try {
            assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
          } finally {
            await client.close();
          }
        });
      }
    }
  });

  describe('the MCP server restarting mid-session', () => {
    it('behind the gateway: a clear 502 while it is down, a 404 for the lost session, then a new session and working calls, with no sign-in', async () => {
      const server = await startSplitDomainServer({ as });
      let restarted: McpServerFixture | undefined;
      const signInsAsked: string[] = [];
      const gateway = await TokenGateway.start({ signInHint, onSignInRequired: (id) => signInsAsked.push(id) });
      const clients: { close(): Promise<void> }[] = [];
      try {
        const env = coreEnvironment();
        const auth = newServerAuth(env, server.url);
        const user = new ScriptedUser();
        await auth.signIn(user, { challenge: { scopes: ['mcp:read'] } });
        const route = gateway.register({
          id: 'restarting',
          upstreamUrl: server.url,
          tokens: tokenManagerSource(auth.tokenManager()),
        });

        const first = await connectViaGateway(route.url, gateway);
        first.client.onerror = () => undefined; // the cut SSE stream reports here
        clients.push(first.client);
        assert.deepEqual((await first.client.listTools()).tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
        assert.match(text(await first.client.callTool({ name: 'whoami', arguments: {} })), /alice/);
        const firstSession = first.transport.sessionId;
        assert.ok(firstSession && server.sessionIds().includes(firstSession));
        const port = Number(new URL(server.url).port);

        await server.close();
        await assert.rejects(first.client.callTool({ name: 'whoami', arguments: {} }), (error: unknown) => {
          assert.ok(error instanceof StreamableHTTPError, String(error));
          assert.equal(error.code, 502);
          assert.match(error.message, /could not reach the MCP server for restarting at .*\(ECONNREFUSED\)/);
          return true;
        });

        restarted = await startSplitDomainServer({ as, port });
        assert.equal(restarted.url, server.url, 'the same URL');
        await assert.rejects(first.client.callTool({ name: 'whoami', arguments: {} }), (error: unknown) => {
          assert.ok(error instanceof StreamableHTTPError, String(error));
          assert.equal(
            error.code,
            404,
            'the new process does not know the old session, and says so (not a sign-in error)',
          );
          return true;
        });

        const second = await connectViaGateway(route.url, gateway);
        clients.push(second.client);
        assert.deepEqual((await second.client.listTools()).tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
        assert.match(text(await second.client.callTool({ name: 'whoami', arguments: {} })), /alice/);
        assert.ok(second.transport.sessionId && second.transport.sessionId !== firstSession, 'a new MCP session');
        assert.deepEqual(restarted.sessionIds(), [second.transport.sessionId]);

        // A fresh tool listing straight to the server (what the sidebar does) works too.
        const direct = await connectMcp(
          server.url,
          authorizedFetch({ fetch: globalThis.fetch, tokens: auth.tokenManager() }),
        );
        clients.push(direct);
        assert.deepEqual((await listAllTools(direct)).map((t) => t.name).sort(), ['admin_action', 'whoami']);

        assert.equal(user.shown.length, 1, 'no second sign-in');
        assert.deepEqual(signInsAsked, [], 'no sign-in was asked for');
      } finally {
        for (const client of clients) await client.close().catch(() => undefined);
        await gateway.close();
        await restarted?.close();
        await server.close();
      }
    });
  });

  describe('the loopback callback port busy', () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      it(`startLoopbackReceiver on a port another program holds on ${host} → port_in_use, naming the port and what to do`, async () => {
        const other = http.createServer((_req, res) => res.end('other program'));
        await new Promise<void>((resolve) => other.listen(0, host, resolve));
        const port = (other.address() as { port: number }).port;
        try {
          const error = await rejection(startLoopbackReceiver({ port, returnTo: 'the tests', random: cryptoRandom }));
          assert.equal(error.code, 'port_in_use');
          assert.ok(error.message.includes(`Port ${port} on 127.0.0.1 is already in use`), error.message);
          assert.match(error.message, /Stop the program that uses it, or configure another redirect port/);
        } finally {
          await new Promise<void>((resolve) => other.close(() => resolve()));
        }
      });
    }

    describe('the CLI (dist/cli.js)', function () {
      let root: string;
      let occupant: http.Server | undefined;
      let occupantHits = 0;
      before(async function () {
        this.timeout(60_000);
        ensureCliBuilt();
        root = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-faults-cli-'));
      });
      after(async () => {
        if (occupant) await new Promise<void>((resolve) => occupant!.close(() => resolve()));
        if (root) await rm(root, { recursive: true, force: true });
      });
      const browser = `"${process.execPath}" --import tsx "${path.join(REPO, 'test', 'unit', 'support', 'approvingBrowser.ts')}" %s`;
      const cli = (home: string, args: string[]) =>
        runCli(args, { MCP_OAUTH_HOME: home, BROWSER: browser, APPROVING_BROWSER_LOG: path.join(root, 'browser.log') });
      const occupy = async (port: number) => {
        occupant = http.createServer((_req, res) => {
          occupantHits++;
          res.end('other program');
        });
        await new Promise<void>((resolve) => occupant!.listen(port, '127.0.0.1', resolve));
      };
      const redirectPortShown = (stderr: string): number => {
        const url = /Open this URL to sign in:\n\s+(\S+)/.exec(stderr)?.[1];
        assert.ok(url, stderr);
        return Number(new URL(url).port); // the loopback receiver's start URL
      };

      it('login falls back to an ephemeral port when the registered one is busy, and signs in', async () => {
        const home = path.join(root, 'fallback');
        const port = await closedPort();
        const first = await cli(home, ['login', split.url, '--redirect-port', String(port)]);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(redirectPortShown(first.stderr), port);
        const clientsFile = () =>
          JSON.parse(readFileSync(path.join(home, 'clients.json'), 'utf8')) as {
            entries: Record<string, ClientRegistration>;
          };
        const callbackPath = `/callback/${issuerKey(as.issuer)}`;
        assert.deepEqual(clientsFile().entries[as.issuer]!.redirectUris, [`http://127.0.0.1:${port}${callbackPath}`]);

        await occupy(port);
        const again = await cli(home, ['login', split.url]);
        assert.equal(again.code, 0, again.stderr);
        const used = redirectPortShown(again.stderr);
        assert.notEqual(used, port, 'not the busy registered port');
        assert.ok(used > 0);
        assert.match(again.stdout, /^Signed in to .* as alice@example\.test/);
        assert.equal(occupantHits, 0, 'the program on the busy port never got the callback');
        assert.deepEqual(
          clientsFile().entries[as.issuer]!.redirectUris,
          [`http://127.0.0.1:${used}${callbackPath}`],
          'registered again for the port in use',
        );
      });

      it('login --redirect-port on a busy port exits 1 with one clear line, storing nothing', async () => {
        const home = path.join(root, 'explicit');
        const port = (occupant!.address() as { port: number }).port;
        const result = await cli(home, ['login', split.url, '--redirect-port', String(port)]);
        assert.equal(result.code, 1, result.stderr);
        const lines = result.stderr.trim().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(
          lines[0]!,
          new RegExp(`^mcp-oauth: Port ${port} on 127\\.0\\.0\\.1 is already in use.*\\[port_in_use\\]$`),
        );
        assert.equal(existsSync(path.join(home, 'tokens.json')), false);
        assert.equal(existsSync(path.join(home, 'clients.json')), false);
      });
    });
  });

  describe('cancellation at every interactive step leaves no half-state', () => {
    let deviceEndpointPath: string;
    before(async () => {
      const metadata = (await (await fetch(as.metadataUrl)).json()) as { device_authorization_endpoint: string };
      deviceEndpointPath = new URL(metadata.device_authorization_endpoint).pathname;
    });

    /** An environment whose transport aborts `controller` 50 ms after sending a request `matches` picks (to a slowed-down peer). */
    const abortingEnv = (
      controller: AbortController,
      matches: (url: URL, init: RequestInit | undefined) => boolean,
    ) => {
      const base = coreEnvironment();
      const seen: string[] = [];
      const fetch: FetchLike = (input, init) => {
        const url = new URL(String(input));
        seen.push(url.pathname);
        if (matches(url, init)) setTimeout(() => controller.abort(), 50);
        return globalThis.fetch(input, init);
      };
      return { env: { ...base, http: { ...base.http, fetch } }, seen };
    };
    const isPost = (path: string) => (url: URL, init: RequestInit | undefined) =>
      url.origin === as.issuer && url.pathname === path && init?.method === 'POST';
    const isCancelled = (error: McpOAuthError) => {
      assert.equal(error.code, 'cancelled', `${error.name} ${error.code}: ${error.message}`);
    };

    it('during discovery (a slow AS metadata answer) → cancelled; nothing registered or stored; a later sign-in works', async () => {
      const controller = new AbortController();
      const { env } = abortingEnv(
        controller,
        (url) => url.origin === as.issuer && url.pathname.startsWith('/.well-known/'),
      );
      const auth = newServerAuth(env, split.url);
      const user = new ScriptedUser();
      const before = registrations(as);
      as.setFault('slow', ['/.well-known/oauth-authorization-server']);
      const started = Date.now();
      isCancelled(await rejection(auth.signIn(user.withSignal(controller.signal))));
      assert.ok(Date.now() - started < 1000, 'stopped at once, not after the slow answer');
      as.setFault(undefined);
      assert.equal(registrations(as) - before, 0);
      assert.equal(user.shown.length, 0);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assert.equal(await env.clients.get(as.issuer), undefined);
      await auth.signIn(user);
      assert.ok(await env.tokens.get(auth.tokenKey));
    });

    it('during registration (a slow DCR answer) → cancelled; no client registration stored, the browser never opened', async () => {
      const controller = new AbortController();
      const { env } = abortingEnv(controller, isPost('/reg'));
      const auth = newServerAuth(env, split.url);
      const user = new ScriptedUser();
      as.setFault('slow', ['/reg']);
      isCancelled(await rejection(auth.signIn(user.withSignal(controller.signal))));
      as.setFault(undefined);
      assert.equal(user.shown.length, 0);
      assert.equal((env.clients as MemoryClientStore).entries.size, 0, 'no half-written registration');
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      const before = registrations(as);
      await auth.signIn(user);
      assert.equal(registrations(as) - before, 1, 'registered afresh');
      assert.ok(await env.tokens.get(auth.tokenKey));
    });

    it('while waiting for the callback (real loopback receiver) → CancelledError; the waiter is gone, a late callback redeems nothing', async () => {
      const controller = new AbortController();
      const env = coreEnvironment();
      const auth = newServerAuth(env, split.url);
      let approved: URL | undefined;
      const browser = new Browser();
      let redirectUri = '';
      /** The CLI's way: a real loopback receiver; the user approves, but the browser never comes back. */
      class Abandoning extends ScriptedUser {
        override async openReceiver(_kind: ReceiverKind, { path }: ReceiverOptions): Promise<RedirectReceiver> {
          const receiver = await startLoopbackReceiver({ path, returnTo: 'the tests', random: cryptoRandom });
          redirectUri = receiver.redirectUri;
          return receiver;
        }
        override async openBrowser(url: string): Promise<void> {
          approved = await approveAuthorization(url, { browser });
          controller.abort();
        }
      }
      const tokensBefore = tokenRequests(as);
      const error = await rejection(auth.signIn(new Abandoning().withSignal(controller.signal)));
      assert.ok(error instanceof CancelledError, `${error.name}: ${error.message}`);
      isCancelled(error);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assertWholeRegistration(await env.clients.get(as.issuer), as, redirectUri);

      assert.ok(approved);
      const late = await fetch(approved, { redirect: 'manual' }).catch(() => undefined);
      assert.ok(!late || late.status >= 400, 'the browser coming back late finds no waiter (or no receiver at all)');
      await late?.body?.cancel();
      assert.equal(tokenRequests(as) - tokensBefore, 0, 'the code was never redeemed');

      const registered = registrations(as);
      await auth.signIn(new ScriptedUser(redirectUri));
      assert.equal(registrations(as) - registered, 0, 'the kept registration is whole: reused as is');
      assert.ok(await env.tokens.get(auth.tokenKey));
    });

    it('during the token request (a slow token endpoint) → cancelled; no tokens stored, the registration whole', async () => {
      const controller = new AbortController();
      const { env } = abortingEnv(controller, isPost('/token'));
      const auth = newServerAuth(env, split.url);
      const user = new ScriptedUser();
      as.setFault('slow', ['/token']);
      const started = Date.now();
      isCancelled(await rejection(auth.signIn(user.withSignal(controller.signal))));
      assert.ok(Date.now() - started < 1500, 'stopped before the slow answer');
      as.setFault(undefined);
      assert.equal(user.shown.length, 1);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assertWholeRegistration(await env.clients.get(as.issuer), as, user.lastRedirectUri);
      const registered = registrations(as);
      await auth.signIn(user);
      assert.equal(registrations(as) - registered, 0);
      assert.ok(await env.tokens.get(auth.tokenKey));
    });

    it('during the device authorization request → cancelled; nothing shown, nothing stored', async () => {
      const controller = new AbortController();
      const { env } = abortingEnv(controller, isPost(deviceEndpointPath));
      const auth = newServerAuth(env, split.url);
      const shown: DeviceAuthorization[] = [];
      as.setFault('slow', [deviceEndpointPath]);
      isCancelled(
        await rejection(
          deviceSignIn(auth, {
            clock: new VirtualClock(),
            signal: controller.signal,
            present: (d) => void shown.push(d),
          }),
        ),
      );
      assert.equal(shown.length, 0);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assertWholeRegistration(await env.clients.get(as.issuer), as);
    });

    it('during a device token poll in flight (a slow token endpoint) → cancelled; nothing stored', async () => {
      const controller = new AbortController();
      const { env } = abortingEnv(
        controller,
        (url, init) => isPost('/token')(url, init) && String(init?.body).includes(encodeURIComponent(DEVICE_GRANT)),
      );
      const auth = newServerAuth(env, split.url);
      const shown: DeviceAuthorization[] = [];
      const clock = new VirtualClock();
      as.setFault('slow', ['/token']);
      isCancelled(
        await rejection(deviceSignIn(auth, { clock, signal: controller.signal, present: (d) => void shown.push(d) })),
      );
      as.setFault(undefined);
      assert.equal(shown.length, 1);
      assert.equal(clock.sleeps.length, 1, 'cancelled during the first poll, not while sleeping');
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assertWholeRegistration(await env.clients.get(as.issuer), as);
    });

    it('before anything (an aborted signal) → cancelled, and no request reaches the AS', async () => {
      const controller = new AbortController();
      controller.abort();
      const { env, seen } = abortingEnv(controller, () => false);
      const auth = newServerAuth(env, split.url);
      const before = as.requests.length;
      isCancelled(await rejection(auth.signIn(new ScriptedUser().withSignal(controller.signal))));
      isCancelled(
        await rejection(
          deviceSignIn(auth, {
            clock: new VirtualClock(),
            signal: controller.signal,
            present: () => assert.fail('nothing to show'),
          }),
        ),
      );
      assert.equal(as.requests.length - before, 0, `requests: ${seen.join(', ')}`);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
      assert.equal(await env.clients.get(as.issuer), undefined);
    });
  });
});
