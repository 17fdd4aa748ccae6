// The real peers for the integration run, started by scripts/test-integration.mjs before VS Code: an
// oidc-provider AS and an SDK-built protected MCP server on loopback. Prints one JSON line describing them
// (the settings to pre-fill and the environment for the tests), then runs until killed.
import { startAuthServer } from '../fixtures/authServer';
import { startSplitDomainServer } from '../fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../fixtures/testClients';

async function main(): Promise<void> {
  const as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
  const split = await startSplitDomainServer({ as });
  const servers = [
    { name: 'Split', id: 'split', url: split.url },
    { name: 'Device', id: 'device', url: split.url, auth: { flow: 'deviceCode', clientId: PUBLIC_CLIENT.client_id } },
    { name: 'Broken', url: 'http://broken.example/mcp' }, // plain http off loopback: reported, never used
  ];
  process.stdout.write(`${JSON.stringify({
    settings: { 'mcpOAuth.servers': servers },
    env: { MCP_OAUTH_TEST_AS: as.issuer, MCP_OAUTH_TEST_MCP: split.url },
  })}\n`);
  const stop = async () => {
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
