// Starts bench/peers.ts in a child process and asks it for its request logs.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { PeerRequest, PeersCpu, PeersReady, PeersTaken } from './peers';

export interface Peers {
  readonly asIssuer: string;
  readonly jwksUri: string;
  readonly mcpUrl: string;
  /** The MCP server that takes only DPoP-bound tokens. */
  readonly dpopUrl: string;
  /** The requests the AS and the MCP servers saw since the last call (the logs are emptied). */
  take(): Promise<{ as: PeerRequest[]; mcp: PeerRequest[]; dpop: PeerRequest[] }>;
  /** The peers process's CPU time so far (user + system, in ms). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPeers(): Promise<Peers> {
  const child: ChildProcess = fork(join(__dirname, 'peers.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<PeersReady>((resolve, reject) => {
    child.once('message', (m) => resolve(m as PeersReady));
    child.once('exit', (code) => reject(new Error(`the bench peers exited (${code}) before starting`)));
  });
  let next = 0;
  const waiting = new Map<number, (answer: PeersTaken | PeersCpu) => void>();
  child.on('message', (m) => {
    const answer = m as PeersTaken | PeersCpu;
    if (answer.kind === 'taken' || answer.kind === 'cpu') waiting.get(answer.id)?.(answer);
  });
  const ask = <T extends PeersTaken | PeersCpu>(cmd: string): Promise<T> => {
    const id = next++;
    return new Promise((resolve) => {
      waiting.set(id, (answer) => {
        waiting.delete(id);
        resolve(answer as T);
      });
      child.send({ cmd, id });
    });
  };
  return {
    asIssuer: ready.asIssuer,
    jwksUri: ready.jwksUri,
    mcpUrl: ready.mcpUrl,
    dpopUrl: ready.dpopUrl,
    async take() {
      const taken = await ask<PeersTaken>('take');
      return { as: taken.as, mcp: taken.mcp, dpop: taken.dpop };
    },
    async cpuMs() {
      const { micros } = await ask<PeersCpu>('cpu');
      return (micros.user + micros.system) / 1000;
    },
    stop() {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ cmd: 'stop', id: -1 });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
    },
  };
}
