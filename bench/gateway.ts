// Scenario 3: the token gateway's overhead. The same SDK Client calls the `whoami` tool directly (with the
// bearer token) and through the TokenGateway (with the gateway key; the gateway adds the token from the
// real TokenManager), against the same MCP server; and, as the floor any proxy pays, through a bare
// pass-through proxy (bench/bareProxy.ts). Sequential latency in interleaved blocks, then throughput with
// concurrent clients, rounds rotating. Then the DPoP variant (RFC 9449): against the DPoP-verifying MCP server,
// the same client directly (making its own proof for every request, as any DPoP client must) and through the
// gateway (which makes the proof: one ES256 signature per request), and the proof's own cost.
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { TokenGateway } from '../src/mcp/gateway/tokenGateway';
import { tokenManagerSource } from '../src/mcp/gateway/gatewayTokens';
import type { FetchLike } from '../src/oauth/http/policyFetch';
import { signInToServer } from '../src/mcp/serverSession';
import { ServerAuth } from '../src/oauth/session/serverAuth';
import { ScriptedUser, text } from '../test/unit/support/coreHarness';
import { connectViaGateway } from '../test/unit/support/gatewayHarness';
import { startBareProxy } from './bareProxy';
import { environment, freshStores } from './ours';
import type { Peers } from './peersClient';
import { median, quantile, round } from './stats';

export interface LatencyResult {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface ThroughputResult {
  /** Calls per second of each round. */
  readonly rounds: number[];
  readonly medianCallsPerSec: number;
  /** CPU time per call (median over the rounds) in this process (the clients, and the gateway when used) and in the peers' process. */
  readonly clientProcessCpuMsPerCall: number;
  readonly peersProcessCpuMsPerCall: number;
}

/** The DPoP variant: direct (the client makes each proof) against the gateway (the gateway makes it). */
export interface DpopGatewayResults {
  readonly direct: LatencyResult;
  readonly gateway: LatencyResult;
  /** gateway p50 − direct p50: the hop and the gateway's own work; each side signs one proof per request. */
  readonly overheadP50Ms: number;
  readonly overheadP99Ms: number;
  readonly blockOverheadP50Ms: number;
  /**
   * Proofs alone, `calls` in a row (ES256 signature, `ath` hash, JWS encoding): what the gateway's signature costs.
   * The prover signs each next proof ahead, so in a tight loop a call waits for about one signature.
   */
  readonly proof: LatencyResult;
  /** Requests the DPoP server saw during the timed calls, and how many passed its DPoP check. */
  readonly serverRequests: number;
  readonly serverDpopOk: number;
}

export interface GatewayResults {
  readonly sequential: {
    readonly direct: LatencyResult;
    readonly gateway: LatencyResult;
    readonly bare: LatencyResult;
    readonly bareOverheadP50Ms: number;
    readonly overheadP50Ms: number;
    readonly overheadP99Ms: number;
    /** The median over the blocks of (gateway p50 − direct p50) of adjacent blocks: less sensitive to drift. */
    readonly blockOverheadP50Ms: number;
    /** Requests the MCP server saw during the timed calls, against the calls made (3 × calls when the proxies add none). */
    readonly serverRequests: number;
    readonly serverToolCalls200: number;
  };
  readonly throughput: {
    readonly clients: number;
    readonly callsPerRound: number;
    readonly direct: ThroughputResult;
    readonly gateway: ThroughputResult;
    readonly bare: ThroughputResult;
    /** gateway / direct, median calls per second. */
    readonly ratio: number;
    readonly bareRatio: number;
    /**
     * direct / gateway CPU per call in the clients' process: the throughput ratio once that thread is the
     * bottleneck, far less sensitive than calls per second to other load on the machine.
     */
    readonly cpuRatio: number;
    readonly bareCpuRatio: number;
  };
  readonly dpop: DpopGatewayResults;
}

export interface GatewayOptions {
  readonly calls: number;
  readonly block: number;
  readonly warmup: number;
  readonly clients: number;
  readonly callsPerRound: number;
  readonly rounds: number;
}

type Connect = () => Promise<Client>;

async function whoami(client: Client): Promise<string> {
  return text(await client.callTool({ name: 'whoami', arguments: {} }));
}

function latency(samples: number[]): LatencyResult {
  return {
    calls: samples.length,
    p50Ms: round(quantile(samples, 0.5), 3),
    p90Ms: round(quantile(samples, 0.9), 3),
    p99Ms: round(quantile(samples, 0.99), 3),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length, 3),
  };
}

async function timedCalls(client: Client, n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await client.callTool({ name: 'whoami', arguments: {} });
    into.push(performance.now() - started);
  }
}

interface Round {
  readonly callsPerSec: number;
  readonly clientCpuMs: number;
  readonly peersCpuMs: number;
}

async function throughputRound(peers: Peers, clients: Client[], calls: number): Promise<Round> {
  const each = Math.ceil(calls / clients.length);
  const peersBefore = await peers.cpuMs();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < each; i++) await client.callTool({ name: 'whoami', arguments: {} });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const peersCpuMs = (await peers.cpuMs()) - peersBefore;
  const n = each * clients.length;
  return { callsPerSec: n / seconds, clientCpuMs: (cpu.user + cpu.system) / 1000 / n, peersCpuMs: peersCpuMs / n };
}

function throughput(rounds: Round[]): ThroughputResult {
  return {
    rounds: rounds.map((r) => round(r.callsPerSec, 1)),
    medianCallsPerSec: round(median(rounds.map((r) => r.callsPerSec)), 1),
    clientProcessCpuMsPerCall: round(median(rounds.map((r) => r.clientCpuMs)), 3),
    peersProcessCpuMsPerCall: round(median(rounds.map((r) => r.peersCpuMs)), 3),
  };
}

export async function runGateway(peers: Peers, options: GatewayOptions): Promise<GatewayResults> {
  const auth = new ServerAuth(environment(globalThis.fetch, freshStores()), peers.mcpUrl);
  await auth.signIn(new ScriptedUser());
  const token = await auth.tokenManager().getAccessToken();
  const gateway = await TokenGateway.start({ signInHint: (id) => `sign in to ${id}` });
  const route = gateway.register({
    id: 'bench',
    upstreamUrl: peers.mcpUrl,
    tokens: tokenManagerSource(auth.tokenManager()),
  });
  const bareProxy = await startBareProxy(peers.mcpUrl, token);
  const connectTo =
    (url: string, headers: Record<string, string>, name: string): Connect =>
    async () => {
      const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
      return client;
    };
  const makers = {
    direct: connectTo(peers.mcpUrl, { authorization: `Bearer ${token}` }, 'bench-direct'),
    gateway: (async () => (await connectViaGateway(route.url, gateway)).client) as Connect,
    bare: connectTo(bareProxy.url, {}, 'bench-bare-proxy'),
  };
  const modes = ['direct', 'gateway', 'bare'] as const;
  type Mode = (typeof modes)[number];
  const rotated = (i: number): Mode[] => modes.map((_, k) => modes[(k + i) % modes.length]!);
  const open: Client[] = [];
  const connect = async (how: Connect) => {
    const client = await how();
    open.push(client);
    return client;
  };
  try {
    // Sequential latency: one client per mode, warmed up, then blocks that rotate.
    const one = {
      direct: await connect(makers.direct),
      gateway: await connect(makers.gateway),
      bare: await connect(makers.bare),
    };
    for (const mode of modes) {
      if (!(await whoami(one[mode])).includes('alice')) throw new Error(`whoami (${mode}) did not answer for alice`);
      await timedCalls(one[mode], options.warmup, []);
    }
    await peers.take();
    const samples: Record<Mode, number[]> = { direct: [], gateway: [], bare: [] };
    const blockDiffs: number[] = [];
    for (let done = 0, i = 0; done < options.calls; done += options.block, i++) {
      const n = Math.min(options.block, options.calls - done);
      const block: Record<Mode, number[]> = { direct: [], gateway: [], bare: [] };
      for (const mode of rotated(i)) await timedCalls(one[mode], n, block[mode]);
      for (const mode of modes) samples[mode].push(...block[mode]);
      blockDiffs.push(median(block.gateway) - median(block.direct));
    }
    const upstream = (await peers.take()).mcp;
    const upstreamCalls = upstream.filter(
      (r) => r.method === 'POST' && r.rpcMethod === 'tools/call' && r.status === 200,
    ).length;
    const lat = { direct: latency(samples.direct), gateway: latency(samples.gateway), bare: latency(samples.bare) };

    // Throughput: `clients` concurrent sessions per mode, rounds rotating.
    const pools: Record<Mode, Client[]> = { direct: [], gateway: [], bare: [] };
    for (const mode of modes)
      pools[mode] = await Promise.all(Array.from({ length: options.clients }, () => connect(makers[mode])));
    for (const mode of modes) await throughputRound(peers, pools[mode], options.clients * 20); // warm-up
    const rounds: Record<Mode, Round[]> = { direct: [], gateway: [], bare: [] };
    for (let r = 0; r < options.rounds; r++) {
      for (const mode of rotated(r))
        rounds[mode].push(await throughputRound(peers, pools[mode], options.callsPerRound));
    }
    const tp = {
      direct: throughput(rounds.direct),
      gateway: throughput(rounds.gateway),
      bare: throughput(rounds.bare),
    };
    await peers.take(); // the MCP server's log of these calls is not needed
    const dpop = await runDpopGateway(peers, gateway, options);
    return {
      sequential: {
        direct: lat.direct,
        gateway: lat.gateway,
        bare: lat.bare,
        overheadP50Ms: round(lat.gateway.p50Ms - lat.direct.p50Ms, 3),
        overheadP99Ms: round(lat.gateway.p99Ms - lat.direct.p99Ms, 3),
        bareOverheadP50Ms: round(lat.bare.p50Ms - lat.direct.p50Ms, 3),
        blockOverheadP50Ms: round(median(blockDiffs), 3),
        serverRequests: upstream.length,
        serverToolCalls200: upstreamCalls,
      },
      throughput: {
        clients: options.clients,
        callsPerRound: options.callsPerRound,
        direct: tp.direct,
        gateway: tp.gateway,
        bare: tp.bare,
        ratio: round(tp.gateway.medianCallsPerSec / tp.direct.medianCallsPerSec, 3),
        bareRatio: round(tp.bare.medianCallsPerSec / tp.direct.medianCallsPerSec, 3),
        cpuRatio: round(tp.direct.clientProcessCpuMsPerCall / tp.gateway.clientProcessCpuMsPerCall, 3),
        bareCpuRatio: round(tp.direct.clientProcessCpuMsPerCall / tp.bare.clientProcessCpuMsPerCall, 3),
      },
      dpop,
    };
  } finally {
    await Promise.all(open.map((client) => client.close().catch(() => undefined)));
    await gateway.close();
    await bareProxy.close();
  }
}

/**
 * The DPoP variant, sequential latency in interleaved blocks as above: a DPoP-bound session (a sign-in that
 * the server's DPoP challenge decides), then the same SDK client against the DPoP server directly, its fetch
 * making a fresh proof with the session's key for every request, and through a gateway route that does the same
 * for it. Then the proof alone, `calls` times.
 */
async function runDpopGateway(
  peers: Peers,
  gateway: TokenGateway,
  options: GatewayOptions,
): Promise<DpopGatewayResults> {
  const auth = new ServerAuth(environment(globalThis.fetch, freshStores()), peers.dpopUrl);
  await signInToServer(auth, new ScriptedUser());
  const tokens = await auth.tokenManager().getTokens();
  const prover = await auth.dpopProver(tokens);
  if (!prover) throw new Error('the DPoP server did not get a DPoP-bound session');
  const route = gateway.register({
    id: 'bench-dpop',
    upstreamUrl: peers.dpopUrl,
    tokens: tokenManagerSource(auth.tokenManager(), undefined, (t) => auth.dpopProver(t)),
  });
  const proving: FetchLike = async (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `DPoP ${tokens.accessToken}`);
    headers.set('dpop', await prover.proof(init.method ?? 'GET', String(input), tokens.accessToken));
    return globalThis.fetch(input, { ...init, headers });
  };
  const directClient = new Client({ name: 'bench-dpop-direct', version: '1.0.0' }, { capabilities: {} });
  await directClient.connect(new StreamableHTTPClientTransport(new URL(peers.dpopUrl), { fetch: proving }));
  const viaGateway = (await connectViaGateway(route.url, gateway)).client;
  const one = { direct: directClient, gateway: viaGateway };
  try {
    const modes = ['direct', 'gateway'] as const;
    for (const mode of modes) {
      if (!(await whoami(one[mode])).includes('alice'))
        throw new Error(`whoami (DPoP ${mode}) did not answer for alice`);
      await timedCalls(one[mode], options.warmup, []);
    }
    await peers.take();
    const samples = { direct: [] as number[], gateway: [] as number[] };
    const blockDiffs: number[] = [];
    for (let done = 0, i = 0; done < options.calls; done += options.block, i++) {
      const n = Math.min(options.block, options.calls - done);
      const block = { direct: [] as number[], gateway: [] as number[] };
      for (const mode of i % 2 ? [...modes].reverse() : modes) await timedCalls(one[mode], n, block[mode]);
      samples.direct.push(...block.direct);
      samples.gateway.push(...block.gateway);
      blockDiffs.push(median(block.gateway) - median(block.direct));
    }
    const seen = (await peers.take()).dpop;
    const proofs: number[] = [];
    const url = new URL(peers.dpopUrl);
    for (let i = 0; i < options.calls; i++) {
      const started = performance.now();
      await prover.proof('POST', url, tokens.accessToken);
      proofs.push(performance.now() - started);
    }
    const direct = latency(samples.direct);
    const through = latency(samples.gateway);
    return {
      direct,
      gateway: through,
      overheadP50Ms: round(through.p50Ms - direct.p50Ms, 3),
      overheadP99Ms: round(through.p99Ms - direct.p99Ms, 3),
      blockOverheadP50Ms: round(median(blockDiffs), 3),
      proof: latency(proofs),
      serverRequests: seen.length,
      serverDpopOk: seen.filter((r) => r.outcome === 'ok').length,
    };
  } finally {
    await Promise.all([directClient.close(), viaGateway.close()].map((p) => p.catch(() => undefined)));
    route.dispose();
  }
}
