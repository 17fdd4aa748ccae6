// The peers every Node-side benchmark talks to, in their own process (as remote servers would be): the
// oidc-provider AS, the split-domain MCP server and the DPoP-verifying MCP server of test/fixtures, on loopback. Started by peersClient.ts
// over IPC: prints nothing; answers `take` with the requests each peer saw since the last `take`.
import { startAuthServer } from '../test/fixtures/authServer';
import { startDpopMcpServer } from '../test/fixtures/dpopMcpServer';
import { startSplitDomainServer } from '../test/fixtures/mcpServers';

export interface PeerRequest {
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly rpcMethod?: string;
  readonly hasAuthorization?: boolean;
  /** At the DPoP server: what its DPoP check decided ('ok', or the error it answered). */
  readonly outcome?: string;
}

export interface PeersReady {
  readonly kind: 'ready';
  readonly asIssuer: string;
  readonly jwksUri: string;
  readonly mcpUrl: string;
  /** The MCP server that takes only DPoP-bound tokens (RFC 9449), each request with its proof. */
  readonly dpopUrl: string;
}

export interface PeersTaken {
  readonly kind: 'taken';
  readonly id: number;
  readonly as: PeerRequest[];
  readonly mcp: PeerRequest[];
  readonly dpop: PeerRequest[];
}

export interface PeersCpu {
  readonly kind: 'cpu';
  readonly id: number;
  readonly micros: NodeJS.CpuUsage;
}

async function main(): Promise<void> {
  // Long-lived access tokens: no renewal happens in the middle of a measurement.
  const as = await startAuthServer({ accessTokenTtl: 3600 });
  const mcp = await startSplitDomainServer({ as });
  const dpop = await startDpopMcpServer({ as });
  process.on('message', (message: { cmd: string; id: number }) => {
    if (message.cmd === 'take') {
      const taken: PeersTaken = {
        kind: 'taken',
        id: message.id,
        as: as.requests.splice(0).map((r) => ({ method: r.method, path: r.path })),
        mcp: mcp.requests.splice(0).map((r) => ({
          method: r.method,
          path: r.path,
          hasAuthorization: r.hasAuthorization,
          ...(r.status !== undefined ? { status: r.status } : {}),
          ...(r.rpcMethod ? { rpcMethod: r.rpcMethod } : {}),
        })),
        dpop: dpop.requests.splice(0).map((r) => ({
          method: r.method,
          path: r.path,
          hasAuthorization: r.hasAuthorization,
          ...(r.status !== undefined ? { status: r.status } : {}),
          ...(r.rpcMethod ? { rpcMethod: r.rpcMethod } : {}),
          ...(r.outcome ? { outcome: r.outcome } : {}),
        })),
      };
      process.send!(taken);
    } else if (message.cmd === 'cpu') {
      const cpu: PeersCpu = { kind: 'cpu', id: message.id, micros: process.cpuUsage() };
      process.send!(cpu);
    } else if (message.cmd === 'stop') {
      void Promise.all([mcp.close(), dpop.close(), as.close()]).finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  const ready: PeersReady = {
    kind: 'ready',
    asIssuer: as.issuer,
    jwksUri: as.jwksUri,
    mcpUrl: mcp.url,
    dpopUrl: dpop.url,
  };
  process.send!(ready);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench peers failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
