// Scenarios 1 and 2: cold connect (from nothing to the first tools/list) and warm reconnect (a stored, valid
// token), ours and the SDK reference side by side, interleaved run by run, against the same peers.
import { performance } from 'node:perf_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FetchLike } from '../src/oauth/http/policyFetch';
import { freshStores, oursConnect, oursExtension, oursWarm, type Stores } from './ours';
import type { Peers } from './peersClient';
import { InMemoryProvider, sdkColdConnect, sdkWarmConnect } from './sdkReference';
import {
  asKind,
  clientKind,
  countKinds,
  CountingFetch,
  mcpKind,
  median,
  quantile,
  round,
  sleep,
  total,
  type Kinds,
} from './stats';

export interface VariantResult {
  readonly label: string;
  readonly timesMs: number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly p25Ms: number;
  readonly p75Ms: number;
  /** Requests per kind, of the most frequent pattern over the runs. */
  readonly client: Kinds;
  readonly as: Kinds;
  readonly mcp: Kinds;
  readonly totals: { readonly client: number; readonly as: number; readonly mcp: number };
  /** Whether every run made exactly the same requests; else the kinds are the most frequent pattern's. */
  readonly stable: boolean;
  /** The lowest and highest totals over the runs. */
  readonly totalsRange: {
    readonly client: [number, number];
    readonly as: [number, number];
    readonly mcp: [number, number];
  };
  readonly tools: number;
}

export interface ColdResults {
  readonly runs: number;
  readonly warmup: number;
  readonly cold: Record<ColdVariant, VariantResult>;
  readonly warm: Record<WarmVariant, VariantResult>;
}

type ColdVariant = 'ours' | 'oursExtension' | 'sdk' | 'sdkCachedDiscovery';
type WarmVariant = 'ours' | 'sdk';

interface Run {
  readonly connect: (fetch: FetchLike) => Promise<{ client: Client; tools: unknown[] }>;
}

const COLD_LABELS: Record<ColdVariant, string> = {
  ours: 'ours (connect-driven: ServerAuth + authorizedFetch + connectMcp)',
  oursExtension: 'ours, extension path (probe, Sign In, then list)',
  sdk: 'SDK reference (auth() + StreamableHTTPClientTransport)',
  sdkCachedDiscovery: 'SDK reference + discoveryState cache',
};

const WARM_LABELS: Record<WarmVariant, string> = {
  ours: 'ours (new ServerAuth, stored token)',
  sdk: 'SDK reference (new transport, stored token)',
};

async function measure(
  peers: Peers,
  run: Run,
): Promise<{ ms: number; client: Kinds; as: Kinds; mcp: Kinds; tools: number }> {
  await peers.take(); // start from empty logs
  const counting = new CountingFetch();
  const started = performance.now();
  const { client, tools } = await run.connect(counting.fetch);
  const ms = performance.now() - started;
  await client.close();
  await sleep(20); // lets the server see the SSE stream close, so its status is logged
  const seen = await peers.take();
  const asOrigin = new URL(peers.asIssuer).origin;
  return {
    ms,
    client: countKinds(counting.requests.map((r) => clientKind(r, asOrigin, peers.mcpUrl))),
    as: countKinds(seen.as.map((r) => asKind(r.path))),
    mcp: countKinds(seen.mcp.map(mcpKind)),
    tools: tools.length,
  };
}

function summarize(label: string, samples: Awaited<ReturnType<typeof measure>>[]): VariantResult {
  // The kinds of the most frequent request pattern: the SDK transport opens its GET stream in the background,
  // so a run may end before that request is made.
  const patterns = new Map<string, number>();
  for (const s of samples) {
    const key = JSON.stringify([s.client, s.as, s.mcp]);
    patterns.set(key, (patterns.get(key) ?? 0) + 1);
  }
  const [modal] = [...patterns].sort((a, b) => b[1] - a[1])[0]!;
  const typical = samples.find((s) => JSON.stringify([s.client, s.as, s.mcp]) === modal)!;
  const totals = { client: total(typical.client), as: total(typical.as), mcp: total(typical.mcp) };
  const range = (pick: (s: Awaited<ReturnType<typeof measure>>) => Kinds): [number, number] => {
    const values = samples.map((s) => total(pick(s)));
    return [Math.min(...values), Math.max(...values)];
  };
  const timesMs = samples.map((s) => round(s.ms));
  return {
    label,
    timesMs,
    medianMs: round(median(timesMs)),
    minMs: Math.min(...timesMs),
    p25Ms: round(quantile(timesMs, 0.25)),
    p75Ms: round(quantile(timesMs, 0.75)),
    client: typical.client,
    as: typical.as,
    mcp: typical.mcp,
    totals,
    stable: patterns.size === 1,
    totalsRange: { client: range((s) => s.client), as: range((s) => s.as), mcp: range((s) => s.mcp) },
    tools: typical.tools,
  };
}

/** Runs every variant `warmup + runs` times, rotating the order each round; the warm-up rounds are dropped. */
async function interleave<K extends string>(
  peers: Peers,
  runs: number,
  warmup: number,
  makers: Record<K, () => Run>,
  labels: Record<K, string>,
): Promise<Record<K, VariantResult>> {
  const keys = Object.keys(makers) as K[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as Awaited<ReturnType<typeof measure>>[]])) as Record<
    K,
    Awaited<ReturnType<typeof measure>>[]
  >;
  for (let round = 0; round < warmup + runs; round++) {
    const order = keys.map((_, i) => keys[(i + round) % keys.length]!);
    for (const key of order) {
      const sample = await measure(peers, makers[key]());
      if (round >= warmup) samples[key].push(sample);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(labels[k], samples[k])])) as Record<K, VariantResult>;
}

export async function runCold(peers: Peers, runs: number, warmup: number): Promise<ColdResults> {
  const url = peers.mcpUrl;
  const cold = await interleave<ColdVariant>(
    peers,
    runs,
    warmup,
    {
      ours: () => ({ connect: (fetch) => oursConnect(url, fetch, freshStores()) }),
      oursExtension: () => ({ connect: (fetch) => oursExtension(url, fetch, freshStores()) }),
      sdk: () => ({ connect: (fetch) => sdkColdConnect(url, fetch, new InMemoryProvider(false)) }),
      sdkCachedDiscovery: () => ({ connect: (fetch) => sdkColdConnect(url, fetch, new InMemoryProvider(true)) }),
    },
    COLD_LABELS,
  );

  // One cold sign-in each, then only reconnects with what it stored.
  const stores: Stores = freshStores();
  await (await oursConnect(url, globalThis.fetch, stores)).client.close();
  const provider = new InMemoryProvider(false);
  await (await sdkColdConnect(url, globalThis.fetch, provider)).client.close();
  const warm = await interleave<WarmVariant>(
    peers,
    runs,
    warmup,
    {
      ours: () => ({ connect: (fetch) => oursWarm(url, fetch, stores) }),
      sdk: () => ({ connect: (fetch) => sdkWarmConnect(url, fetch, provider) }),
    },
    WARM_LABELS,
  );
  return { runs, warmup, cold, warm };
}
