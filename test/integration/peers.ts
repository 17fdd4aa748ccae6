// The real peers for the integration run (scripts/test-integration.mjs) and the real-UI run
// (scripts/test-ui.mjs), started before VS Code: an oidc-provider AS and two SDK-built protected MCP servers
// on loopback, plus a small loopback admin endpoint that reports what the peers saw. Prints one JSON line
// describing them (the settings to pre-fill and the environment for the tests), then runs until killed.
//
// GET <MCP_OAUTH_TEST_PEERS_ADMIN>/state answers with what happened at the peers, never a token value: the
// AS's requests (method and path) and token grants, each MCP server's JSON-RPC methods, and every refresh
// token the AS issued, numbered, with its client, resource and whether AS introspection calls it active.
import { startAuthServer } from '../fixtures/authServer';
import { listenOnLoopback } from '../fixtures/loopback';
import { startSplitDomainServer } from '../fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../fixtures/testClients';

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
  const admin = await listenOnLoopback((req, res) => {
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
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            as: { requests: as.requests, grants: as.grants, refreshTokens: tokens },
            mcp: { [split.url]: rpc(split.requests), [second.url]: rpc(second.requests) },
          }),
        );
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      },
    );
  });
  const servers = [
    { name: 'Split', id: 'split', url: split.url },
    { name: 'Device', id: 'device', url: split.url, auth: { flow: 'deviceCode', clientId: PUBLIC_CLIENT.client_id } },
    { name: 'Broken', url: 'http://broken.example/mcp' }, // plain http off loopback: reported, never used
  ];
  process.stdout.write(
    `${JSON.stringify({
      settings: { 'mcpOAuth.servers': servers },
      env: {
        MCP_OAUTH_TEST_AS: as.issuer,
        MCP_OAUTH_TEST_MCP: split.url,
        MCP_OAUTH_TEST_MCP2: second.url,
        MCP_OAUTH_TEST_PEERS_ADMIN: admin.origin,
      },
    })}\n`,
  );
  const stop = async () => {
    await admin.close();
    await second.close();
    await split.close();
    await as.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`peers failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
