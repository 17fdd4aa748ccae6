// The embedded demo: a local authorization server (oidc-provider, development mode) and protected MCP
// servers on fixed loopback ports. Started by `npm start`; Ctrl-C stops it all.
import { startAuthServer } from '../test/fixtures/authServer';
import { startNoMetadataServer, startSplitDomainServer } from '../test/fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../test/fixtures/testClients';

const base = Number(process.env.MCP_OAUTH_DEMO_PORT ?? 7300);

async function main(): Promise<void> {
  const as = await startAuthServer({ port: base, clients: [PUBLIC_CLIENT], accessTokenTtl: 600 });
  const split = await startSplitDomainServer({ as, port: base + 1 });
  const bare = await startNoMetadataServer({ as, port: base + 2 });
  const cli = 'node dist/cli.js';
  process.stdout.write(`
MCP OAuth demo: everything runs on loopback.

  Authorization server            ${as.issuer}   (oidc-provider; demo login: any user name and any password)
  MCP server, split-domain AS     ${split.url}
  MCP server, no resource metadata ${bare.url}   (needs the authorizationServer override)

Sign in and use the tools with the CLI (state goes to $MCP_OAUTH_HOME, or ~/.config/mcp-oauth):
  ${cli} login ${split.url}                      # browser sign-in (prints the URL too)
  ${cli} login ${split.url} --device             # device code, for SSH and headless machines
  ${cli} tools ${split.url}
  ${cli} call  ${split.url} whoami
  ${cli} call  ${split.url} admin_action         # asks for more scope: step-up
  ${cli} login ${bare.url} --as ${as.issuer}
  ${cli} logout ${split.url}                     # revokes, then forgets

Ctrl-C stops everything.
`);
  const stop = async () => {
    await Promise.allSettled([split.close(), bare.close()]);
    await as.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const inUse = (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE';
  process.stderr.write(inUse
    ? `demo failed to start: port ${base}–${base + 2} is in use (another demo running?); stop it, or set MCP_OAUTH_DEMO_PORT to another base port\n`
    : `demo failed to start: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
