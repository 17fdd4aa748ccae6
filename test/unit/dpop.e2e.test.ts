// DPoP (RFC 9449, the MCP DPoP extension) in the core, end to end against the real peers: oidc-provider with
// DPoP (with and without its nonce) and the MCP server that verifies every proof (with and without its own nonce),
// next to a Bearer-only server of the same AS. Every grant, both nonces, the policy (auto, required, off), the
// key per (server entry, issuer), the reset, the export refusal, and what a leaked token is worth.
import assert from 'node:assert/strict';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { authorizedFetch } from '../../src/mcp/authorizedFetch';
import { connectToServer, signInToServer } from '../../src/mcp/serverSession';
import { MemoryDpopKeyStore } from '../../src/oauth/dpop/dpopKeys';
import { McpOAuthError } from '../../src/oauth/errors';
import { toTokenSet } from '../../src/oauth/grants/tokenResponse';
import type { FetchLike } from '../../src/oauth/http/policyFetch';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import { Scopes } from '../../src/oauth/tokens/scopes';
import { toBundle } from '../../src/oauth/tokens/tokenBundle';
import { isTokenSet, type TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startDpopMcpServer, type DpopMcpServer } from '../fixtures/dpopMcpServer';
import { accessTokenHash, generateDpopKey, signDpopProof } from '../fixtures/dpopProofs';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { dpopTokenRequest } from '../fixtures/signIn';
import { BASIC_CLIENT, PUBLIC_CLIENT, staticClients } from '../fixtures/testClients';
import { approveDevice } from '../fixtures/userAgent';
import {
  connectWithSignIn,
  coreEnvironment,
  deviceSignIn,
  machineSignIn,
  ScriptedUser,
  text,
  type HarnessOptions,
} from './support/coreHarness';
import { VirtualClock } from './support/headlessHarness';

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
}

/** A fetch that records every request it sends (headers included), for the AS and the MCP server alike. */
function recorder(inner: FetchLike = globalThis.fetch): { fetch: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: FetchLike = (input, init = {}) => {
    sent.push({
      method: (init.method ?? 'GET').toUpperCase(),
      url: String(input instanceof Request ? input.url : input),
      headers: new Headers(init.headers),
    });
    return inner(input, init);
  };
  return { fetch, sent };
}

/** The core's environment with every request through `fetch`, and a DPoP key store that can be looked into. */
function environment(fetch: FetchLike, options: HarnessOptions = {}) {
  const dpopKeys = new MemoryDpopKeyStore();
  const base = coreEnvironment({ dpopKeys, ...options });
  return { ...base, dpopKeys, http: { ...base.http, fetch } };
}

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof McpOAuthError, `expected an McpOAuthError, got ${String(e)}`);
  assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
  return true;
};

const proofsIn = (sent: readonly Sent[]) => sent.filter((s) => s.headers.has('dpop'));
/** The requests to the MCP endpoint that carried a token (metadata reads and the unauthenticated first one left out). */
const authorized = (server: DpopMcpServer, from: number) =>
  server.requests.slice(from).filter((r) => r.hasAuthorization);

describe('DPoP against real peers', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let asNonce: AuthServer;
  let dpopServer: DpopMcpServer;
  let nonceServer: DpopMcpServer;
  let bearerServer: McpServerFixture;

  before(async () => {
    as = await startAuthServer({ clients: staticClients({ keys: [] }) });
    asNonce = await startAuthServer({ clients: staticClients({ keys: [] }), dpop: { nonce: true } });
    dpopServer = await startDpopMcpServer({ as });
    nonceServer = await startDpopMcpServer({ as: asNonce, nonce: true });
    bearerServer = await startSplitDomainServer({ as });
  });
  after(async () => {
    await Promise.all([dpopServer.close(), nonceServer.close(), bearerServer.close()]);
    await Promise.all([as.close(), asNonce.close()]);
  });

  describe('auto (the default) at a server that signals DPoP', () => {
    it('signs in through the DPoP challenge (ES256, dpop_jkt), and every MCP request carries DPoP and a fresh proof', async () => {
      const rec = recorder();
      const env = environment(rec.fetch);
      const auth = new ServerAuth(env, dpopServer.url);
      const user = new ScriptedUser();
      const grantsBefore = as.grants.length;
      const requestsBefore = dpopServer.requests.length;
      const client = await connectToServer(auth, user, rec.fetch);
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
      assert.equal(JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).sub, 'alice');
      await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession?.();
      await client.close();

      const tokens = (await env.tokens.get(auth.tokenKey))!;
      const stored = (await env.dpopKeys.get(auth.tokenKey, as.issuer))!;
      assert.equal(tokens.tokenType, 'DPoP');
      assert.equal(stored.alg, 'ES256', 'ES256 first');
      assert.equal(tokens.dpopJkt, stored.jkt, 'the set records the key by its thumbprint');
      assert.deepEqual(decodeJwt(tokens.accessToken).cnf, { jkt: stored.jkt }, 'the AS bound the token to the key');
      assert.ok(!JSON.stringify(tokens).includes(String(stored.privateJwk.d)), 'the key is not in the token set');
      assert.equal(user.shown[0]!.searchParams.get('dpop_jkt'), stored.jkt, 'the code is bound to the key (§10)');
      assert.deepEqual(
        as.grants.slice(grantsBefore).map((g) => [g.grantType, g.dpop, g.tokenType]),
        [['authorization_code', true, 'DPoP']],
      );

      const seen = authorized(dpopServer, requestsBefore);
      assert.ok(seen.length >= 4, 'several MCP requests');
      assert.deepEqual([...new Set(seen.map((r) => r.method))].sort(), ['DELETE', 'GET', 'POST'], 'GET streams too');
      for (const request of seen) {
        assert.equal(request.outcome, 'ok', `${request.method}: ${request.detail}`);
        assert.equal(request.scheme, 'DPoP');
        assert.equal(request.proof?.htm, request.method);
        assert.equal(request.proof?.htu, dpopServer.url);
        assert.equal(request.proof?.ath, accessTokenHash(tokens.accessToken));
      }
      const jtis = seen.map((r) => r.proof?.jti);
      assert.equal(new Set(jtis).size, jtis.length, 'a fresh jti for every request');

      // What went out: a proof on the token request (no ath there) and on every MCP request; never the key.
      const proofs = proofsIn(rec.sent);
      const tokenProofs = proofs.filter((s) => s.url === `${as.issuer}/token`);
      assert.equal(tokenProofs.length, 1);
      assert.equal(decodeJwt(tokenProofs[0]!.headers.get('dpop')!).ath, undefined);
      for (const { headers } of proofs) {
        const header = decodeProtectedHeader(headers.get('dpop')!);
        assert.equal(header.typ, 'dpop+jwt');
        assert.equal((header.jwk as Record<string, unknown>).d, undefined, 'only the public key travels');
        const iat = decodeJwt(headers.get('dpop')!).iat!;
        assert.ok(Math.abs(iat - Date.now() / 1000) < 30, 'iat is now');
      }
      for (const line of env.logger.lines) {
        for (const secret of [tokens.accessToken, tokens.refreshToken!, String(stored.privateJwk.d)])
          assert.ok(!line.includes(secret), `a secret in the log: ${line}`);
        for (const { headers } of proofs) assert.ok(!line.includes(headers.get('dpop')!), 'a proof in the log');
      }
    });

    it('refreshes a public client with the same key (its refresh token is bound to it), and no other key can', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, dpopServer.url, { clientId: PUBLIC_CLIENT.client_id });
      const first = await signInToServer(auth, new ScriptedUser());
      assert.equal(first.tokenType, 'DPoP');
      const before = as.grants.length;
      const second = await auth.tokenManager().forceRefresh(first.accessToken);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.equal(second.tokenType, 'DPoP');
      assert.equal(second.dpopJkt, first.dpopJkt, 'the same key');
      assert.deepEqual(decodeJwt(second.accessToken).cnf, { jkt: first.dpopJkt });
      assert.deepEqual(as.grants.slice(before), [{ grantType: 'refresh_token', dpop: true, tokenType: 'DPoP' }]);

      // The refresh token alone is worth nothing: not with another key, not without a proof.
      const body = () =>
        new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: PUBLIC_CLIENT.client_id,
          refresh_token: second.refreshToken!,
        });
      const otherKey = await dpopTokenRequest(`${as.issuer}/token`, body(), await generateDpopKey());
      assert.equal(otherKey.status, 400);
      assert.equal(((await otherKey.json()) as { error: string }).error, 'invalid_grant');
      const noProof = await fetch(`${as.issuer}/token`, { method: 'POST', body: body() });
      assert.equal(noProof.status, 400);
      await noProof.body?.cancel();
      const client = await connectToServer(auth);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/, 'still good with the key');
      await client.close();
    });

    it('gets DPoP-bound tokens with the device code grant', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, dpopServer.url, { clientId: PUBLIC_CLIENT.client_id });
      let shown: { verificationUri: string; userCode: string } | undefined;
      const clock = new VirtualClock(async (n) => {
        if (n === 1) await approveDevice(shown!.verificationUri, shown!.userCode);
      });
      const before = as.grants.length;
      const tokens = await deviceSignIn(auth, { present: (device) => void (shown = device), clock });
      assert.equal(tokens.tokenType, 'DPoP');
      assert.deepEqual(decodeJwt(tokens.accessToken).cnf, { jkt: tokens.dpopJkt });
      const polls = as.grants
        .slice(before)
        .filter((g) => g.grantType === 'urn:ietf:params:oauth:grant-type:device_code');
      assert.ok(polls.length >= 1 && polls.every((g) => g.dpop), 'every poll carried a proof');
      const client = await connectToServer(auth);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      await client.close();
    });

    it('gets DPoP-bound tokens with client credentials, and renews by running the grant again with the key', async () => {
      const env = environment(globalThis.fetch, { credentials: { clientSecret: BASIC_CLIENT.client_secret! } });
      const auth = new ServerAuth(env, dpopServer.url, { clientId: BASIC_CLIENT.client_id, scopes: ['mcp:read'] });
      const before = as.grants.length;
      const tokens = await machineSignIn(auth);
      assert.equal(tokens.tokenType, 'DPoP');
      assert.equal(tokens.grantType, 'client_credentials');
      const renewed = await auth.tokenManager().forceRefresh(tokens.accessToken);
      assert.equal(renewed.dpopJkt, tokens.dpopJkt);
      assert.deepEqual(
        as.grants.slice(before).map((g) => [g.grantType, g.dpop, g.tokenType]),
        [
          ['client_credentials', true, 'DPoP'],
          ['client_credentials', true, 'DPoP'],
        ],
      );
      const client = await connectToServer(auth);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /static-basic/);
      await client.close();
    });

    it('steps up under DPoP: a 403 DPoP insufficient_scope re-authorizes for the wider scope with the same key', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, dpopServer.url);
      const user = new ScriptedUser();
      const client = await connectWithSignIn(auth, user);
      const first = (await env.tokens.get(auth.tokenKey))!;
      const result = await client.callTool({ name: 'admin_action', arguments: {} });
      assert.ok(!result.isError, text(result));
      await client.close();
      const after = (await env.tokens.get(auth.tokenKey))!;
      assert.ok(after.scopes.includes('mcp:write'), 'the wider scope was granted');
      assert.equal(after.tokenType, 'DPoP');
      assert.equal(after.dpopJkt, first.dpopJkt);
      assert.deepEqual(
        user.questions.map((q) => q.kind),
        ['stepUp'],
        'the user was asked once, as for Bearer',
      );
      assert.equal(user.shown.length, 2, 'the sign-in, then the step-up');
    });

    it('retries once with the nonce of the AS (400 use_dpop_nonce) and of the MCP server (401 use_dpop_nonce), keeping the latest per origin', async () => {
      const rec = recorder();
      const env = environment(rec.fetch);
      const auth = new ServerAuth(env, nonceServer.url);
      const grantsBefore = asNonce.grants.length;
      const requestsBefore = nonceServer.requests.length;
      const client = await connectToServer(auth, new ScriptedUser(), rec.fetch);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      assert.deepEqual(
        asNonce.grants.slice(grantsBefore).map((g) => g.error ?? g.tokenType),
        ['use_dpop_nonce', 'DPoP'],
        'one retry with the AS nonce',
      );
      // POSTs: the open GET stream's check may still be under way when they are looked at.
      const seen = () => authorized(nonceServer, requestsBefore).filter((r) => r.method === 'POST');
      assert.deepEqual(
        seen().map((r) => r.outcome),
        [
          'use_dpop_nonce',
          ...seen()
            .slice(1)
            .map(() => 'ok'),
        ],
        'one 401 use_dpop_nonce, then every request carries the nonce',
      );
      assert.ok(
        seen()
          .slice(1)
          .every((r) => r.proof?.nonce === nonceServer.nonce),
        'every proof after the first carries the nonce',
      );

      // The server rotates its nonce: the answer that brings the new one is kept, and the next proof has it.
      const rotated = nonceServer.rotateNonce();
      await client.callTool({ name: 'whoami', arguments: {} });
      await client.callTool({ name: 'whoami', arguments: {} });
      const [stale, fresh] = seen().slice(-2);
      assert.equal(stale!.outcome, 'ok');
      assert.equal(fresh!.proof?.nonce, rotated, 'the latest nonce is used');
      // Two rotations retire the nonce the client holds: the 401 brings a new one, tried once more.
      nonceServer.rotateNonce();
      nonceServer.rotateNonce();
      const count = seen().length;
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      assert.deepEqual(
        seen()
          .slice(count)
          .map((r) => r.outcome),
        ['use_dpop_nonce', 'ok'],
      );

      // A refresh carries the AS nonce it was last given (no second use_dpop_nonce while it is good).
      const tokens = (await env.tokens.get(auth.tokenKey))!;
      await auth.tokenManager().forceRefresh(tokens.accessToken);
      const refreshProof = proofsIn(rec.sent)
        .filter((s) => s.url === `${asNonce.issuer}/token`)
        .at(-1)!;
      assert.ok(decodeJwt(refreshProof.headers.get('dpop')!).nonce, 'the refresh proof carries the AS nonce');
      await client.close();
    });

    it('retries a token request with a new nonce only once', async () => {
      let tokenRequests = 0;
      const nagging: FetchLike = async (input, init) => {
        if (String(input) === `${as.issuer}/token`) {
          tokenRequests++;
          return new Response(JSON.stringify({ error: 'use_dpop_nonce', error_description: 'nonce' }), {
            status: 400,
            headers: { 'content-type': 'application/json', 'dpop-nonce': `nonce-${tokenRequests}` },
          });
        }
        return globalThis.fetch(input, init);
      };
      const env = environment(nagging);
      const auth = new ServerAuth(env, dpopServer.url);
      await assert.rejects(signInToServer(auth, new ScriptedUser()), (e: unknown) => {
        isCode('token_error')(e);
        assert.equal((e as { error?: string }).error, 'use_dpop_nonce');
        return true;
      });
      assert.equal(tokenRequests, 2, 'the request and one retry with the nonce');
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
    });

    it('takes the algorithm both servers accept: EdDSA where that is the only one, Bearer where there is none', async () => {
      const eddsa = await startDpopMcpServer({ as, algs: ['EdDSA'] });
      const ps256 = await startDpopMcpServer({ as, algs: ['PS256'] });
      try {
        const env = environment(globalThis.fetch);
        const auth = new ServerAuth(env, eddsa.url);
        const client = await connectWithSignIn(auth, new ScriptedUser());
        assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
        await client.close();
        assert.equal((await env.dpopKeys.get(auth.tokenKey, as.issuer))!.alg, 'EdDSA');
        // POSTs only: the open GET stream's check may still be under way.
        const checked = eddsa.requests.filter((r) => r.method === 'POST' && r.proof);
        assert.ok(
          checked.length >= 3 && checked.every((r) => r.outcome === 'ok'),
          checked.map((r) => r.outcome).join(),
        );

        // oidc-provider signs no PS256 proofs' keys: no algorithm in common.
        const bearer = await signInToServer(
          new ServerAuth(environment(globalThis.fetch), ps256.url),
          new ScriptedUser(),
        );
        assert.equal(bearer.tokenType, 'Bearer', 'auto falls back to Bearer');
        const required = new ServerAuth(environment(globalThis.fetch), ps256.url, { dpop: 'required' });
        await assert.rejects(signInToServer(required, new ScriptedUser()), (e: unknown) => {
          isCode('dpop_unsupported')(e);
          assert.match((e as Error).message, /no DPoP algorithm .* in common/);
          return true;
        });
      } finally {
        await eddsa.close();
        await ps256.close();
      }
    });
  });

  describe('a leaked DPoP-bound token', () => {
    it('is refused as a Bearer token and with another key’s proof; only the key’s own proof works', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, dpopServer.url);
      const tokens = await signInToServer(auth, new ScriptedUser());
      const stolen = tokens.accessToken;
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      const post = (headers: Record<string, string>) =>
        fetch(dpopServer.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
          body,
        });
      const asBearer = await post({ authorization: `Bearer ${stolen}` });
      assert.equal(asBearer.status, 401);
      assert.equal(dpopServer.requests.at(-1)!.detail, 'DPoP-bound access token presented as a Bearer token');
      const thief = await generateDpopKey();
      const proof = await signDpopProof(thief, { htm: 'POST', htu: dpopServer.url, accessToken: stolen });
      const otherKey = await post({ authorization: `DPoP ${stolen}`, dpop: proof });
      assert.equal(otherKey.status, 401);
      assert.equal(dpopServer.requests.at(-1)!.outcome, 'invalid_dpop_proof');
      assert.equal(dpopServer.requests.at(-1)!.detail, 'DPoP proof key does not match cnf.jkt');
      const prover = (await auth.dpopProver(tokens))!;
      const own = await post({
        authorization: `DPoP ${stolen}`,
        dpop: await prover.proof('POST', dpopServer.url, stolen),
      });
      assert.notEqual(own.status, 401, 'the key holder gets past the DPoP check');
      assert.equal(dpopServer.requests.at(-1)!.outcome, 'ok');
      await Promise.all([asBearer, otherKey, own].map((r) => r.body?.cancel()));
    });
  });

  describe('a bound token without its key', () => {
    it('is never sent by a fetch that has no prover for it, as DPoP or as Bearer', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, dpopServer.url);
      await signInToServer(auth, new ScriptedUser());
      const before = dpopServer.requests.length;
      const keyless = authorizedFetch({ fetch: globalThis.fetch, tokens: auth.tokenManager() }); // no `dpop`
      const response = await keyless(dpopServer.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(response.status, 401);
      await response.body?.cancel();
      assert.deepEqual(
        dpopServer.requests.slice(before).map((r) => r.hasAuthorization),
        [false],
        'sent without any Authorization',
      );
    });
  });

  describe('a server that takes only Bearer tokens, whose AS advertises DPoP', () => {
    it('auto keeps getting Bearer tokens and sends no proof anywhere', async () => {
      const rec = recorder();
      const env = environment(rec.fetch);
      const auth = new ServerAuth(env, bearerServer.url);
      const before = as.grants.length;
      const client = await connectToServer(auth, new ScriptedUser(), rec.fetch);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      await client.close();
      const tokens = (await env.tokens.get(auth.tokenKey))!;
      assert.equal(tokens.tokenType, 'Bearer');
      assert.equal(tokens.dpopJkt, undefined);
      assert.equal(decodeJwt(tokens.accessToken).cnf, undefined);
      assert.ok(
        as.grants.slice(before).every((g) => !g.dpop && g.tokenType === 'Bearer'),
        'Bearer grants, no proof',
      );
      assert.deepEqual(proofsIn(rec.sent), [], 'no DPoP header on any request');
      assert.ok(
        rec.sent.every((s) => !/^DPoP /i.test(s.headers.get('authorization') ?? '')),
        'no DPoP Authorization scheme',
      );
      assert.equal(env.dpopKeys.size, 0, 'no key was even made');
    });

    it('required refuses it with dpop_unsupported naming the setting, before anything reaches the token endpoint', async () => {
      const rec = recorder();
      const env = environment(rec.fetch);
      const auth = new ServerAuth(env, bearerServer.url, { dpop: 'required' });
      const user = new ScriptedUser();
      const before = as.grants.length;
      await assert.rejects(signInToServer(auth, user, {}, rec.fetch), (e: unknown) => {
        isCode('dpop_unsupported')(e);
        assert.match((e as Error).message, /auth\.dpop is "required".*does not offer DPoP.*set auth\.dpop to "auto"/);
        return true;
      });
      assert.equal(user.shown.length, 0, 'no authorization request');
      assert.equal(as.grants.length, before, 'no token request');
      assert.deepEqual(proofsIn(rec.sent), []);
      assert.equal(env.dpopKeys.size, 0);
      assert.equal(await env.tokens.get(auth.tokenKey), undefined);
    });
  });

  describe('the policy', () => {
    /** A fetch that serves the AS metadata without `dpop_signing_alg_values_supported`. */
    const withoutAsDpop: FetchLike = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (!String(input).includes('/.well-known/oauth-authorization-server')) return response;
      const metadata = (await response.json()) as Record<string, unknown>;
      delete metadata.dpop_signing_alg_values_supported;
      return Response.json(metadata);
    };

    it('an AS that does not advertise DPoP: auto uses Bearer, required is refused naming the AS', async () => {
      const auto = await signInToServer(new ServerAuth(environment(withoutAsDpop), dpopServer.url), new ScriptedUser());
      assert.equal(auto.tokenType, 'Bearer');
      const required = new ServerAuth(environment(withoutAsDpop), dpopServer.url, { dpop: 'required' });
      const user = new ScriptedUser();
      await assert.rejects(signInToServer(required, user), (e: unknown) => {
        isCode('dpop_unsupported')(e);
        assert.match((e as Error).message, /authorization server .* does not advertise DPoP/);
        return true;
      });
      assert.equal(user.shown.length, 0);
    });

    it('off never uses DPoP, even at a server that requires it', async () => {
      const rec = recorder();
      const env = environment(rec.fetch);
      const tokens = await signInToServer(
        new ServerAuth(env, dpopServer.url, { dpop: 'off' }),
        new ScriptedUser(),
        {},
        rec.fetch,
      );
      assert.equal(tokens.tokenType, 'Bearer');
      assert.deepEqual(proofsIn(rec.sent), []);
      assert.equal(env.dpopKeys.size, 0);
    });

    it('a host that keeps no DPoP keys: auto uses Bearer, required is refused', async () => {
      const env = environment(globalThis.fetch, { dpopKeys: false });
      const { dpopKeys: _unused, ...keyless } = env;
      const tokens = await signInToServer(new ServerAuth(keyless, dpopServer.url), new ScriptedUser());
      assert.equal(tokens.tokenType, 'Bearer');
      await assert.rejects(
        signInToServer(new ServerAuth(keyless, dpopServer.url, { dpop: 'required' }), new ScriptedUser()),
        isCode('dpop_unsupported'),
      );
    });

    /** A fetch that drops the proof from token requests (as a proxy might), so the AS binds nothing. */
    const unproven: FetchLike = (input, init = {}) => {
      if (String(input) !== `${as.issuer}/token`) return globalThis.fetch(input, init);
      const headers = new Headers(init.headers);
      headers.delete('dpop');
      return globalThis.fetch(input, { ...init, headers });
    };

    it('binds the authorization code to the key (dpop_jkt): redeemed without its proof, the AS refuses it', async () => {
      const env = environment(unproven);
      await assert.rejects(signInToServer(new ServerAuth(env, dpopServer.url), new ScriptedUser()), (e: unknown) => {
        isCode('token_error')(e);
        assert.equal((e as { error?: string }).error, 'invalid_grant');
        return true;
      });
    });

    it('an AS that answers with a Bearer token: auto keeps it as Bearer, required refuses it and stores nothing', async () => {
      const options = { clientId: BASIC_CLIENT.client_id, scopes: ['mcp:read'] };
      const credentials = { clientSecret: BASIC_CLIENT.client_secret! };
      const auto = await machineSignIn(new ServerAuth(environment(unproven, { credentials }), dpopServer.url, options));
      assert.equal(auto.tokenType, 'Bearer');
      const env = environment(unproven, { credentials });
      const required = new ServerAuth(env, dpopServer.url, { ...options, dpop: 'required' });
      await assert.rejects(machineSignIn(required), (e: unknown) => {
        isCode('dpop_unsupported')(e);
        assert.match((e as Error).message, /issued a Bearer token although the request carried a DPoP proof/);
        return true;
      });
      assert.equal(await env.tokens.get(required.tokenKey), undefined, 'nothing stored');
    });

    it('required holds on renewals: a Bearer answer to a renewal is refused and the bound session kept; a Bearer session is not renewed', async () => {
      const options = { clientId: BASIC_CLIENT.client_id, scopes: ['mcp:read'], dpop: 'required' } as const;
      const credentials = { clientSecret: BASIC_CLIENT.client_secret! };
      let dropProofs = false;
      const fetch: FetchLike = (input, init) => (dropProofs ? unproven : globalThis.fetch)(input, init);
      const env = environment(fetch, { credentials });
      const auth = new ServerAuth(env, dpopServer.url, options);
      const bound = await machineSignIn(auth);
      assert.equal(bound.tokenType, 'DPoP');
      dropProofs = true; // the AS binds nothing now
      await assert.rejects(auth.tokenManager().forceRefresh(bound.accessToken), (e: unknown) => {
        isCode('dpop_unsupported')(e);
        assert.match((e as Error).message, /issued a Bearer token .* nothing was stored/);
        return true;
      });
      assert.equal((await env.tokens.get(auth.tokenKey))!.accessToken, bound.accessToken, 'the bound session stays');

      // A Bearer session (signed in under auto) once the entry says required: a sign-in, not a renewal, and its
      // still-valid access token is not handed out either.
      const bearerEnv = environment(unproven, { credentials });
      const bearer = await machineSignIn(new ServerAuth(bearerEnv, dpopServer.url, { ...options, dpop: 'auto' }));
      assert.equal(bearer.tokenType, 'Bearer');
      const grants = as.grants.length;
      const requiredAuth = new ServerAuth(bearerEnv, dpopServer.url, options);
      const manager = requiredAuth.tokenManager();
      const requiredRefusal = (e: unknown) =>
        isCode('not_signed_in')(e) && /auth\.dpop is "required"/.test((e as Error).message);
      await assert.rejects(manager.getAccessToken(), requiredRefusal);
      await assert.rejects(manager.forceRefresh(bearer.accessToken), requiredRefusal);
      assert.equal(as.grants.length, grants, 'nothing sent to the token endpoint');
      assert.equal((await bearerEnv.tokens.get(requiredAuth.tokenKey))?.accessToken, bearer.accessToken, 'kept');
    });

    it('required refuses to import a token bundle (always Bearer), and stores nothing', async () => {
      const env = environment(globalThis.fetch);
      const bearer = await signInToServer(new ServerAuth(env, bearerServer.url), new ScriptedUser());
      const bundle = JSON.stringify(toBundle(bearerServer.url, bearer));
      const fresh = environment(globalThis.fetch);
      const auth = new ServerAuth(fresh, bearerServer.url, { dpop: 'required' });
      await assert.rejects(auth.importBundle(bundle), (e: unknown) => {
        isCode('dpop_unsupported')(e);
        assert.ok(!(e as Error).message.includes(bearer.accessToken), 'no token in the message');
        return true;
      });
      assert.equal(await fresh.tokens.get(auth.tokenKey), undefined, 'nothing stored');
    });

    it('required at a DPoP server and AS signs in with DPoP as auto does', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, nonceServer.url, { dpop: 'required' } satisfies AuthOptions);
      const client = await connectWithSignIn(auth, new ScriptedUser());
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      await client.close();
      assert.equal((await env.tokens.get(auth.tokenKey))!.tokenType, 'DPoP');
    });
  });

  describe('the key', () => {
    it('is one per (server entry, issuer): kept across sign-ins, never shared by two entries or two issuers', async () => {
      const env = environment(globalThis.fetch);
      const a = new ServerAuth(env, dpopServer.url, {}, 'entry-a');
      const b = new ServerAuth(env, dpopServer.url, {}, 'entry-b');
      const first = await signInToServer(a, new ScriptedUser());
      const again = await signInToServer(a, new ScriptedUser());
      const other = await signInToServer(b, new ScriptedUser());
      assert.equal(again.dpopJkt, first.dpopJkt, 'the same entry keeps its key');
      assert.notEqual(other.dpopJkt, first.dpopJkt, 'another entry has its own');
      const elsewhere = await signInToServer(new ServerAuth(env, nonceServer.url, {}, 'entry-a'), new ScriptedUser());
      assert.notEqual(elsewhere.dpopJkt, first.dpopJkt, 'another issuer, another key');
      assert.equal(env.dpopKeys.size, 3);
      assert.ok(await env.dpopKeys.get('entry-a', asNonce.issuer), 'the key of entry-a at the other issuer');
    });

    it('is replaced by Reset Client Registration: the old session cannot be used or renewed, the next sign-in binds to a new key', async () => {
      const env = environment(globalThis.fetch);
      const auth = new ServerAuth(env, dpopServer.url);
      const tokens = await signInToServer(auth, new ScriptedUser());
      await auth.resetClientRegistration();
      assert.equal(await env.dpopKeys.get(auth.tokenKey, as.issuer), undefined);
      await assert.rejects(auth.dpopProver(tokens), isCode('not_signed_in'));
      await assert.rejects(auth.tokenManager().forceRefresh(tokens.accessToken), isCode('not_signed_in'));
      const before = dpopServer.requests.length;
      const client = connectToServer(auth);
      await assert.rejects(client, 'without a host, the tool listing cannot sign in');
      assert.ok(
        dpopServer.requests.slice(before).every((r) => r.scheme === undefined),
        'the unusable token was never sent, as DPoP or as Bearer',
      );
      const next = await signInToServer(auth, new ScriptedUser());
      assert.notEqual(next.dpopJkt, tokens.dpopJkt);
      const connected = await connectToServer(auth);
      assert.match(text(await connected.callTool({ name: 'whoami', arguments: {} })), /alice/);
      await connected.close();
    });

    it('is followed across windows: one that loaded the old key takes the new one another window signed in with', async () => {
      const env = environment(globalThis.fetch); // one SecretStorage, two windows
      const windowA = new ServerAuth(env, dpopServer.url);
      const windowB = new ServerAuth(env, dpopServer.url);
      const first = await signInToServer(windowA, new ScriptedUser());
      assert.equal((await windowB.dpopProver(first))!.jkt, first.dpopJkt);
      await windowA.resetClientRegistration();
      const second = await signInToServer(windowA, new ScriptedUser());
      assert.notEqual(second.dpopJkt, first.dpopJkt);
      assert.equal((await windowB.dpopProver(second))!.jkt, second.dpopJkt, 'window B loaded the new key');
      const client = await connectToServer(windowB);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      await client.close();
    });

    it('is never generated by a renewal: a session whose key is gone needs a sign-in', async () => {
      const env = environment(globalThis.fetch);
      const tokens = await signInToServer(new ServerAuth(env, dpopServer.url), new ScriptedUser());
      await env.dpopKeys.delete(dpopServer.url, as.issuer);
      const fresh = new ServerAuth(env, dpopServer.url); // another process: nothing cached
      await assert.rejects(fresh.tokenManager().forceRefresh(tokens.accessToken), isCode('not_signed_in'));
      assert.equal(env.dpopKeys.size, 0);
    });
  });

  describe('export', () => {
    it('refuses a DPoP-bound session with not_exportable, and exports a Bearer one', async () => {
      const env = environment(globalThis.fetch);
      const tokens = await signInToServer(new ServerAuth(env, dpopServer.url), new ScriptedUser());
      assert.throws(
        () => toBundle(dpopServer.url, tokens),
        (e: unknown) => {
          isCode('not_exportable')(e);
          assert.match((e as Error).message, /bound to a DPoP key .* never leaves this machine/);
          assert.ok(!(e as Error).message.includes(tokens.accessToken), 'no token in the message');
          return true;
        },
      );
      const bearer = await signInToServer(new ServerAuth(env, bearerServer.url), new ScriptedUser());
      assert.equal(toBundle(bearerServer.url, bearer).accessToken, bearer.accessToken);
    });
  });
});

describe('toTokenSet and token_type DPoP', () => {
  const context = { issuer: 'https://as.example', clientId: 'c', tokenEndpoint: 'https://as.example/token' };
  const answer = { access_token: 'at-0123456789', token_type: 'dpop', expires_in: 60 } as const;
  const base = { ...context, requestedScopes: Scopes.parse('mcp'), now: 0 };

  it('accepts DPoP only when the request carried a proof, and records the key thumbprint', () => {
    const tokens: TokenSet = toTokenSet(answer, { ...base, dpopJkt: 'jkt-1' });
    assert.equal(tokens.tokenType, 'DPoP');
    assert.equal(tokens.dpopJkt, 'jkt-1');
    assert.throws(() => toTokenSet(answer, base), isCode('invalid_token_response'));
  });

  it('stores a DPoP-bound set only with its key thumbprint, and a Bearer one without', () => {
    const bound = toTokenSet(answer, { ...base, dpopJkt: 'jkt-1' });
    assert.ok(isTokenSet(bound), 'a bound set with its thumbprint');
    const { dpopJkt: _jkt, ...unnamed } = bound;
    assert.ok(!isTokenSet(unnamed), 'DPoP without the thumbprint is damaged');
    const bearer = toTokenSet({ ...answer, token_type: 'bearer' }, base);
    assert.ok(!isTokenSet({ ...bearer, dpopJkt: 'jkt-1' }), 'a Bearer set names no key');
  });

  it('takes a Bearer answer to a request with a proof as Bearer (the AS chose not to bind)', () => {
    const tokens = toTokenSet({ ...answer, token_type: 'bearer' }, { ...base, dpopJkt: 'jkt-1' });
    assert.equal(tokens.tokenType, 'Bearer');
    assert.equal(tokens.dpopJkt, undefined);
  });
});
