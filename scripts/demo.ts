// The embedded demo: a local authorization server (oidc-provider, development mode) and protected MCP
// servers on fixed loopback ports. `npm start` runs it (with `--describe`) next to VS Code; run alone
// (`node --import tsx scripts/demo.ts`, Node 22 or newer) it prints how to use the servers with the CLI.
// Ctrl-C stops it all.
//
//   MCP_OAUTH_DEMO_PORT     the first of four consecutive ports (default 7300: AS, then three MCP servers)
//   MCP_OAUTH_DEMO_AS_HOST  the AS's loopback address (default 127.0.0.1; `npm start` picks 127.0.0.2 for
//                           code-server, which sends the 127.0.0.1 pages an extension opens through its proxy)
//   MCP_OAUTH_DEMO_STATE    where the AS keeps the clients registered with it (default ~/.cache/mcp-oauth/demo)
//
// The AS keeps its keys, sessions and tokens in memory: every sign-in ends with the demo. Dynamically
// registered clients are kept in MCP_OAUTH_DEMO_STATE, so a client registration stored by VS Code or the CLI
// stays valid across restarts.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ClientMetadata } from 'oidc-provider';
import { startAuthServer } from '../test/fixtures/authServer';
import { startNoMetadataServer, startSplitDomainServer } from '../test/fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../test/fixtures/testClients';

const base = Number(process.env.MCP_OAUTH_DEMO_PORT || 7300);
const asHost = process.env.MCP_OAUTH_DEMO_AS_HOST || '127.0.0.1';
const describe = process.argv.includes('--describe');
const stateDir =
  process.env.MCP_OAUTH_DEMO_STATE ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mcp-oauth', 'demo');
const clientsFile = join(stateDir, 'as-clients.json');

/** What `npm start` needs to know: the AS, the servers, and the `mcpOAuth.servers` entries for them. */
export interface DemoDescription {
  issuer: string;
  login: string;
  servers: { name: string; url: string; what: string }[];
  settings: { name: string; id: string; url: string; auth?: Record<string, unknown> }[];
}

/** Clients registered (RFC 7591) with an earlier run, to pre-register on this one. */
function savedClients(): ClientMetadata[] {
  try {
    const saved = JSON.parse(readFileSync(clientsFile, 'utf8')) as unknown;
    return Array.isArray(saved)
      ? saved.filter(
          (c): c is ClientMetadata => typeof c?.client_id === 'string' && c.client_id !== PUBLIC_CLIENT.client_id,
        )
      : [];
  } catch {
    return [];
  }
}

function saveClients(clients: ClientMetadata[]): void {
  try {
    mkdirSync(stateDir, { recursive: true });
    const tmp = `${clientsFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(clients, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, clientsFile);
  } catch (error) {
    process.stderr.write(
      `demo: could not save the registered clients to ${clientsFile}: ${(error as Error).message}\n`,
    );
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(base) || base < 1024 || base > 65532)
    throw new Error(
      `MCP_OAUTH_DEMO_PORT must be a port number from 1024 to 65532, not ${process.env.MCP_OAUTH_DEMO_PORT}`,
    );
  if (!/^127(\.\d{1,3}){3}$/.test(asHost))
    throw new Error(`MCP_OAUTH_DEMO_AS_HOST must be a loopback address (127.x.x.x), not ${asHost}`);
  const registered = savedClients();
  const as = await startAuthServer({
    port: base,
    host: asHost,
    clients: [PUBLIC_CLIENT, ...registered],
    accessTokenTtl: 600,
  });
  as.provider.on('registration_create.success', (_ctx, client) => {
    registered.push((client as { metadata(): ClientMetadata }).metadata());
    saveClients(registered);
  });
  const split = await startSplitDomainServer({ as, port: base + 1 });
  const device = await startSplitDomainServer({ as, port: base + 2 });
  const bare = await startNoMetadataServer({ as, port: base + 3 });

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      await Promise.allSettled([split.close(), device.close(), bare.close()]);
      await as.close();
      process.exit(0);
    })();
    return stopping;
  }
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  const description: DemoDescription = {
    issuer: as.issuer,
    login: 'any user name and any password',
    servers: [
      {
        name: 'Demo: split-domain AS',
        url: split.url,
        what: 'RFC 9728 metadata names the AS on another port; browser sign-in, dynamic client registration',
      },
      {
        name: 'Demo: device code',
        url: device.url,
        what: 'the same kind of server; its settings entry signs in with the device flow and the pre-registered public client static-public',
      },
      {
        name: 'Demo: no resource metadata',
        url: bare.url,
        what: 'publishes no RFC 9728 metadata; its settings entry names the AS (auth.authorizationServer)',
      },
    ],
    settings: [
      { name: 'Demo: split-domain AS', id: 'demo-split', url: split.url },
      {
        name: 'Demo: device code',
        id: 'demo-device',
        url: device.url,
        auth: { flow: 'deviceCode', clientId: PUBLIC_CLIENT.client_id },
      },
      {
        name: 'Demo: no resource metadata',
        id: 'demo-no-metadata',
        url: bare.url,
        auth: { authorizationServer: as.issuer },
      },
    ],
  };

  if (describe) {
    // One JSON line for scripts/start.mjs, which owns this process: it ends when its stdin closes.
    process.stdout.write(`${JSON.stringify(description)}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => void stop());
    process.stdin.on('error', () => void stop());
  } else {
    const cli = 'node dist/cli.js';
    const pad = Math.max(...description.servers.map((s) => s.name.length)) + 2;
    process.stdout.write(`
MCP OAuth demo: everything runs on loopback.

  Authorization server${' '.repeat(Math.max(1, pad - 20))}${as.issuer}   (oidc-provider; demo login: ${description.login})
${description.servers.map((s) => `  ${s.name.padEnd(pad)}${s.url}`).join('\n')}

Sign in and use the tools with the CLI (state goes to $MCP_OAUTH_HOME, or ~/.config/mcp-oauth):
  ${cli} login ${split.url}                      # browser sign-in (prints the URL too)
  ${cli} tools ${split.url}
  ${cli} call  ${split.url} whoami
  ${cli} call  ${split.url} admin_action         # asks for more scope: step-up
  ${cli} login ${device.url} --device --client-id ${PUBLIC_CLIENT.client_id}
  ${cli} login ${bare.url} --as ${as.issuer}
  ${cli} logout ${split.url}                     # revokes, then forgets

Ctrl-C stops everything; sign-ins end with the demo.
`);
  }
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException)?.code;
  process.stderr.write(
    code === 'EADDRINUSE'
      ? `demo failed to start: a port from ${base} to ${base + 3} is in use (another demo running?); stop it, or set MCP_OAUTH_DEMO_PORT to another base port\n`
      : code === 'EADDRNOTAVAIL'
        ? `demo failed to start: cannot listen on ${asHost}; set MCP_OAUTH_DEMO_AS_HOST=127.0.0.1\n`
        : `demo failed to start: ${(error as Error)?.message ?? String(error)}\n`,
  );
  process.exit(1);
});
