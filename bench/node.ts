// The Node-side benchmarks (scenarios 1, 2, 3 and the pure half of 5), run by scripts/bench.mjs under
// Node 24 + tsx. Writes their results as JSON to the path given as the first argument.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { runCold, type ColdResults } from './cold';
import { runGateway, type GatewayResults } from './gateway';
import { startPeers } from './peersClient';
import { runTreeScale, type TreeScaleResult } from './treeScale';

export interface NodeResults {
  readonly node: string;
  readonly loadavg: { readonly start: number[]; readonly end: number[] };
  readonly durationMs: number;
  readonly cold: ColdResults;
  readonly gateway: GatewayResults;
  readonly tree: TreeScaleResult;
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: bench/node.ts <results.json>');
  const started = Date.now();
  const start = loadavg();
  const peers = await startPeers();
  let cold: ColdResults;
  let gateway: GatewayResults;
  try {
    process.stdout.write('[bench] cold connect and warm reconnect …\n');
    cold = await runCold(peers, Number(process.env.BENCH_COLD_RUNS) || 30, 2);
    process.stdout.write('[bench] token gateway …\n');
    gateway = await runGateway(peers, {
      calls: 2000,
      block: 100,
      warmup: 200,
      clients: 8,
      callsPerRound: 800,
      rounds: 8,
    });
  } finally {
    await peers.stop();
  }
  process.stdout.write('[bench] tree model …\n');
  const tree = runTreeScale();
  const results: NodeResults = {
    node: process.version,
    loadavg: { start, end: loadavg() },
    durationMs: Date.now() - started,
    cold,
    gateway,
    tree,
  };
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
