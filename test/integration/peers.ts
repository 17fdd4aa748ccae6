// The real peers for the integration run (scripts/test-integration.mjs) and the real-UI run (test/ui),
// started before VS Code by the launcher (scripts/codeServer, `peers: true`): an oidc-provider AS (which, like
// every oidc-provider, advertises DPoP), two SDK-built protected MCP servers that take Bearer tokens and one
// that takes only DPoP-bound tokens with its own nonce (RFC 9449), on loopback; a server whose own AS issues codes
// holding `+&#%`; for enterprise-managed authorization (SEP-990), an enterprise IdP, the ID-JAG authorization
// server of another MCP server, that server, and `mcpOAuth.enterpriseIdp`; plus a small loopback admin endpoint
// that reports what the peers saw. Prints one JSON line describing them (the settings to pre-fill and the environment for the tests), then
// runs until SIGTERM, SIGINT or the end of its stdin (so it never outlives the launcher).
//
// GET <MCP_OAUTH_TEST_PEERS_ADMIN>/state answers with what happened at the peers, never a token value: the
// AS's requests (method and path) and token grants, each MCP server's JSON-RPC methods, and every refresh
// token the AS issued, numbered, with its client, resource and whether AS introspection calls it active, and
// what the DPoP server checked on each request (scheme, outcome, the proof's htm, htu, jti and nonce; no proof).
import { type AuthServer, startAuthServer } from '../fixtures/authServer';
import { IDP_CLIENT, startEnterpriseIdp, type EnterpriseIdp } from '../fixtures/enterpriseIdp';
import { AS_CLIENT, startIdJagAuthServer } from '../fixtures/idJagAuthServer';
import { startDpopMcpServer } from '../fixtures/dpopMcpServer';
import { listenOnLoopback } from '../fixtures/loopback';
import { startMovingServer, startSplitDomainServer } from '../fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../fixtures/testClients';

/** The environment the peers' JSON line gives the tests (the launcher passes it to the extension host). */
export interface PeersEnv {
  readonly MCP_OAUTH_TEST_AS: string;
  readonly MCP_OAUTH_TEST_MCP: string;
  readonly MCP_OAUTH_TEST_MCP2: string;
  /** A server whose AS issues codes holding `+`, `&`, `#` and `%` (`awkwardCodes`). */
  readonly MCP_OAUTH_TEST_MCP_AWKWARD: string;
  readonly MCP_OAUTH_TEST_AS_AWKWARD: string;
  /**
   * A server on the main AS that moves to the awkward-code AS when `POST <MCP_OAUTH_TEST_PEERS_ADMIN>/move` asks
   * (authorization-server migration, SEP-2352).
   */
  readonly MCP_OAUTH_TEST_MOVING: string;
  /** The MCP server that takes only DPoP-bound tokens (settings entry `dpop`). */
  readonly MCP_OAUTH_TEST_DPOP: string;
  readonly MCP_OAUTH_TEST_PEERS_ADMIN: string;
  /** The enterprise IdP (`mcpOAuth.enterpriseIdp`), and the MCP server whose AS takes its ID-JAGs. */
  readonly MCP_OAUTH_TEST_IDP: string;
  readonly MCP_OAUTH_TEST_ENTERPRISE_MCP: string;
  /**
   * The two pre-registered clients' secrets (the MCP client at the IdP, and at the enterprise server's AS), for
   * the tests to put in SecretStorage: a user would type them when asked.
   */
  readonly MCP_OAUTH_TEST_IDP_SECRET: string;
  readonly MCP_OAUTH_TEST_ENTERPRISE_SECRET: string;
}

/** What the DPoP server saw of one request: never the token or the proof itself. */
export interface DpopRequestSeen {
  readonly method: string;
  readonly rpcMethod: string | undefined;
  readonly scheme: string | undefined;
  readonly outcome: string | undefined;
  readonly htm: unknown;
  readonly htu: unknown;
  readonly jti: unknown;
  readonly nonce: boolean;
}

/** What GET <MCP_OAUTH_TEST_PEERS_ADMIN>/state answers. */
export interface PeersState {
  readonly as: {
    readonly requests: AuthServer['requests'];
    readonly grants: AuthServer['grants'];
    readonly refreshTokens: readonly {
      readonly n: number;
      readonly clientId: string | undefined;
      readonly resource: string | undefined;
      readonly active: boolean | undefined;
    }[];
  };
  /** The enterprise IdP's requests and grants, and the ID-JAG AS's. */
  readonly idp: { readonly requests: AuthServer['requests']; readonly grants: AuthServer['grants'] };
  readonly idJagAs: { readonly requests: AuthServer['requests']; readonly grants: AuthServer['grants'] };
  /** Each MCP server's URL → the JSON-RPC methods it was called with, in order. */
  readonly mcp: Readonly<Record<string, readonly string[]>>;
  /** The DPoP server's requests that carried a token. */
  readonly dpop: readonly DpopRequestSeen[];
}

interface IssuedRefreshToken {
  value: string;
  clientId: string | undefined;
  resource: string | undefined;
}

async function main(): Promise<void> {
  const as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
  const refreshTokens: IssuedRefreshToken[] = [];
  // oidc-provider passes the token model itself to its `<model>.saved` events; an opaque token's value is its jti.
  as.provider.on('refresh_token.saved', (...args: unknown[]) => {
    const token = args[0] as { jti: string; clientId?: string; resource?: string };
    if (!refreshTokens.some((t) => t.value === token.jti))
      refreshTokens.push({ value: token.jti, clientId: token.clientId, resource: token.resource });
  });
  const split = await startSplitDomainServer({ as });
  const second = await startSplitDomainServer({ as });
  const awkwardAs = await startAuthServer({ awkwardCodes: true });
  const awkward = await startSplitDomainServer({ as: awkwardAs });
  const moving = await startMovingServer({ as });
  const idp = await startEnterpriseIdp({ clients: [IDP_CLIENT_BASIC] });
  acceptEditorCallbacks(idp);
  const idJagAs = await startIdJagAuthServer({ idp });
  const enterprise = await startSplitDomainServer({ as: idJagAs });
  idp.connect({
    clientId: IDP_CLIENT_BASIC.client_id,
    audience: idJagAs.issuer,
    resources: [enterprise.url],
    targetClientId: AS_CLIENT.client_id,
  });
  const dpop = await startDpopMcpServer({ as, nonce: true });
  const admin = await listenOnLoopback((req, res) => {
    if (req.method === 'POST' && req.url === '/move') {
      moving.moveTo(awkwardAs);
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET' || req.url !== '/state') {
      res.writeHead(404).end();
      return;
    }
    void Promise.all(
      refreshTokens.map(async (t, n) => ({
        n,
        clientId: t.clientId,
        resource: t.resource,
        active: (await as.introspect(t.value).catch(() => ({ active: undefined }))).active,
      })),
    ).then(
      (tokens) => {
        const rpc = (requests: typeof split.requests) =>
          requests.map((r) => r.rpcMethod).filter((m): m is string => !!m);
        const state: PeersState = {
          as: { requests: as.requests, grants: as.grants, refreshTokens: tokens },
          idp: { requests: idp.requests, grants: idp.grants },
          idJagAs: { requests: idJagAs.requests, grants: idJagAs.grants },
          mcp: {
            [split.url]: rpc(split.requests),
            [second.url]: rpc(second.requests),
            [enterprise.url]: rpc(enterprise.requests),
            [dpop.url]: rpc(dpop.requests),
          },
          dpop: dpop.requests
            .filter((r) => r.hasAuthorization)
            .map((r) => ({
              method: r.method,
              rpcMethod: r.rpcMethod,
              scheme: r.scheme,
              outcome: r.outcome,
              htm: r.proof?.htm,
              htu: r.proof?.htu,
              jti: r.proof?.jti,
              nonce: r.proof?.nonce !== undefined,
            })),
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      },
    );
  });
  const servers = [
    { name: 'Split', id: 'split', url: split.url },
    { name: 'Device', id: 'device', url: split.url, auth: { flow: 'deviceCode', clientId: PUBLIC_CLIENT.client_id } },
    { name: 'DPoP', id: 'dpop', url: dpop.url }, // auth.dpop "auto": its challenge and metadata ask for DPoP
    { name: 'Broken', url: 'http://broken.example/mcp' }, // plain http off loopback: reported, never used
    {
      name: 'Enterprise',
      id: 'enterprise',
      url: enterprise.url,
      auth: { flow: 'enterpriseManaged', clientId: AS_CLIENT.client_id },
    },
  ];
  const env: PeersEnv = {
    MCP_OAUTH_TEST_AS: as.issuer,
    MCP_OAUTH_TEST_MCP: split.url,
    MCP_OAUTH_TEST_MCP2: second.url,
    MCP_OAUTH_TEST_MCP_AWKWARD: awkward.url,
    MCP_OAUTH_TEST_AS_AWKWARD: awkwardAs.issuer,
    MCP_OAUTH_TEST_MOVING: moving.url,
    MCP_OAUTH_TEST_DPOP: dpop.url,
    MCP_OAUTH_TEST_PEERS_ADMIN: admin.origin,
    MCP_OAUTH_TEST_IDP: idp.issuer,
    MCP_OAUTH_TEST_ENTERPRISE_MCP: enterprise.url,
    MCP_OAUTH_TEST_IDP_SECRET: IDP_CLIENT_BASIC.client_secret as string,
    MCP_OAUTH_TEST_ENTERPRISE_SECRET: AS_CLIENT.client_secret as string,
  };
  const settings = {
    'mcpOAuth.servers': servers,
    'mcpOAuth.enterpriseIdp': { issuer: idp.issuer, clientId: IDP_CLIENT_BASIC.client_id },
  };
  process.stdout.write(`${JSON.stringify({ settings, env })}\n`);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await admin.close();
      await enterprise.close();
      await idJagAs.close();
      await idp.close();
      await dpop.close();
      await second.close();
      await awkward.close();
      await moving.close();
      await awkwardAs.close();
      await split.close();
      await as.close();
      process.exit(0);
    })());
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.resume();
  process.stdin.once('end', stop);
  process.stdin.once('error', stop);
}

/** The MCP client at the IdP, authenticating with client_secret_basic (what the extension uses by default). */
const IDP_CLIENT_BASIC = { ...IDP_CLIENT, token_endpoint_auth_method: 'client_secret_basic' } as const;

/**
 * The editor's redirect URIs as this IdP's registration of the MCP client: the one its admin registered for a
 * native app on loopback (`http://127.0.0.1/callback`, any port), and code-server's URI-handler callback, which
 * is on loopback too but carries a path and a query of its own for each request (`/stable-…/callback?vscode-
 * reqid=…`) that no registration can name in advance. Only for the IdP of these peers.
 */
function acceptEditorCallbacks(idp: EnterpriseIdp): void {
  // oidc-provider's Client model: the one check of redirect URIs, at the authorization and token endpoints.
  const { Client } = idp.provider as unknown as { Client: { prototype: { redirectUriAllowed(uri: string): boolean } } };
  const client = Client.prototype;
  const registered = client.redirectUriAllowed;
  client.redirectUriAllowed = function (this: unknown, uri: string) {
    const url = URL.parse(uri);
    const codeServerCallback =
      url?.protocol === 'http:' && url.hostname === '127.0.0.1' && /\/callback$/.test(url.pathname);
    return codeServerCallback || registered.call(this, uri);
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`peers failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
