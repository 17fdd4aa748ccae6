// Security property 10: the token gateway survives a local flood. Its port is open to every local user; one
// who opens hundreds of idle sockets, sends headers a byte at a time, pipelines thousands of refused requests
// or uploads a huge body with a wrong key must not stop the user's own MCP calls, nor cut the user's long-lived
// SSE streams. Each attack runs against a real gateway with an SDK client connected the way VS Code's is, and a
// real MCP server (or a recording one, where the test needs to script its answers).
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { DEFAULT_GATEWAY_LIMITS, type GatewayLimits } from '../../src/mcp/gateway/gatewayLimits';
import { TokenGateway } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource, type GatewayTokenSource } from '../../src/mcp/gateway/gatewayTokens';
import type { ServerAuth } from '../../src/oauth/session/serverAuth';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { coreEnvironment, newServerAuth, RecordingLogger, ScriptedUser, text } from '../unit/support/coreHarness';
import {
  connectViaGateway,
  signInHint,
  startRecordingUpstream,
  staticTokens,
  until,
} from '../unit/support/gatewayHarness';
import { LocalFlood } from './support/localFlood';

/** The head of a refused request in a flood: a plausible MCP POST with a wrong key, announcing `length` bytes. */
function refusedHead(port: number, path: string, length: number): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nx-mcp-oauth-gateway-key: ${'A'.repeat(43)}\r\n` +
    `content-type: application/json\r\ncontent-length: ${length}\r\n\r\n`
  );
}

function refusedRequest(port: number, path: string): string {
  const body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
  return refusedHead(port, path, body.length) + body;
}

/** A keep-alive connection of the user's, on which requests go one after the other. */
class KeyedConnection {
  private readonly socket: net.Socket;
  private buffer = '';
  closed = false;

  constructor(
    private readonly gateway: TokenGateway,
    private readonly path: string,
  ) {
    this.socket = net.connect(gateway.port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => (this.buffer += chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }

  /** Sends a keyed GET and resolves with the status of its answer (a complete, content-length framed one). */
  async request(): Promise<number> {
    this.buffer = '';
    const headers = `Host: 127.0.0.1:${this.gateway.port}\r\n${this.gateway.keyHeader}: ${this.gateway.key}\r\n`;
    this.socket.write(`GET ${this.path} HTTP/1.1\r\n${headers}\r\n`);
    await until(() => this.complete() || this.closed, 'an answer on the keyed connection');
    assert.ok(this.complete(), 'the keyed connection was closed before its answer');
    return Number(this.buffer.slice(9, 12));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private complete(): boolean {
    const end = this.buffer.indexOf('\r\n\r\n');
    const length = /content-length: (\d+)/i.exec(this.buffer);
    return end >= 0 && length !== null && this.buffer.length >= end + 4 + Number(length[1]);
  }
}

describe('security property 10: the token gateway survives a local flood', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let split: McpServerFixture;
  let auth: ServerAuth;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(async () => {
    as = await startAuthServer();
    split = await startSplitDomainServer({ as });
    auth = newServerAuth(coreEnvironment(), split.url);
    await auth.signIn(new ScriptedUser(), { challenge: { scopes: ['mcp:read'] } });
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  after(async () => {
    await split.close();
    await as.close();
  });

  /** A gateway with `limits`, serving the real MCP server (or `upstream`) at the returned URL. */
  const startGateway = async (
    limits: Partial<GatewayLimits>,
    logger = new RecordingLogger(),
    upstreamUrl = split.url,
    tokens: GatewayTokenSource = tokenManagerSource(auth.tokenManager()),
  ) => {
    const gateway = await TokenGateway.start({ signInHint, logger, limits });
    cleanups.push(() => gateway.close());
    const { url } = gateway.register({ id: 'srv', upstreamUrl, tokens });
    const flood = new LocalFlood(gateway.port);
    cleanups.push(() => flood.destroy());
    return { gateway, url, path: new URL(url).pathname, flood, logger };
  };

  const connectUser = async (url: string, gateway: TokenGateway): Promise<Client> => {
    const { client } = await connectViaGateway(url, gateway);
    cleanups.push(() => client.close());
    return client;
  };

  const whoami = async (client: Client) => {
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
  };

  it('uses the documented defaults: 256 connections, 64 unproven, 10 s for headers, 60 s per request, 30 s idle', async () => {
    assert.deepEqual(DEFAULT_GATEWAY_LIMITS, {
      maxConnections: 256,
      maxUnproven: 64,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 30_000,
      timeoutCheckIntervalMs: 1_000,
      warningWindowMs: 10_000,
    });
    const gateway = await TokenGateway.start({ signInHint });
    cleanups.push(() => gateway.close());
    assert.deepEqual(gateway.limits, DEFAULT_GATEWAY_LIMITS);
    // The server runs with them: it tells a keep-alive client how long it keeps an idle connection.
    const response = await fetch(`${gateway.origin}/servers/none/mcp`, { headers: gateway.requestHeaders });
    await response.body?.cancel();
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('keep-alive'), 'timeout=30');
  });

  it('500 idle sockets of another user: the user still lists tools and calls one at once; the flood holds at most 64, each closed at the header timeout', async () => {
    const headersTimeoutMs = 3000;
    const { gateway, url, flood, logger } = await startGateway({ headersTimeoutMs, timeoutCheckIntervalMs: 100 });
    await flood.idle(500);
    await until(() => flood.open <= DEFAULT_GATEWAY_LIMITS.maxUnproven, 'the gateway to shed the oldest idle sockets');
    const shed = flood.sockets.filter((s) => s.closed !== undefined);
    assert.ok(
      shed.every((s) => s.received === ''),
      'closed to make room (no 408: not at their header timeout)',
    );
    assert.ok(flood.open > 0, 'the newest idle sockets are kept until their header timeout');

    const started = performance.now();
    const client = await connectUser(url, gateway);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
    await whoami(client);
    const elapsed = performance.now() - started;
    assert.ok(flood.open > 0, 'the calls went through while the flood still held its sockets (no waiting it out)');
    assert.ok(elapsed < headersTimeoutMs, `the user's calls took ${elapsed.toFixed(0)} ms`);

    await until(() => flood.open === 0, 'the idle sockets to be closed at the header timeout', 2 * headersTimeoutMs);
    // The rest made way for the user's connections, or lasted until their header timeout.
    const timedOut = flood.sockets.filter((s) => s.received !== '');
    assert.ok(timedOut.length > 0 && timedOut.length <= DEFAULT_GATEWAY_LIMITS.maxUnproven);
    for (const { opened, closed, received } of timedOut) {
      assert.match(received, /^HTTP\/1\.1 408 /);
      const lived = closed! - opened;
      assert.ok(lived >= headersTimeoutMs - 50 && lived < headersTimeoutMs + 2000, `an idle socket lived ${lived} ms`);
    }
    await whoami(client); // the user's own connections were never touched

    await gateway.close(); // says what was counted and not yet logged
    const evictions = logger.lines.filter((line) => line.includes('closed a connection that never showed the key'));
    assert.equal(evictions.length, 2, evictions.join('\n'));
    const more = Number(/\((\d+) more within 10 s\)/.exec(evictions[1]!)?.[1]);
    assert.equal(more + 1, 500 - timedOut.length, 'each connection closed for room was counted, and logged once');
  });

  it('slowloris: connections sending one header byte a second are cut at the header timeout', async () => {
    const headersTimeoutMs = 2500;
    const { gateway, url, path, flood } = await startGateway({ headersTimeoutMs, timeoutCheckIntervalMs: 100 });
    const header = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${gateway.port}\r\nx-padding: ${'a'.repeat(100)}`;
    const slow = await flood.slowloris(20, header, 1000);
    const client = await connectUser(url, gateway);
    await whoami(client);
    await Promise.all(slow.map((s) => flood.closed(s)));
    for (const { opened, closed, received } of slow) {
      const lived = closed! - opened;
      assert.ok(lived >= headersTimeoutMs - 50 && lived < headersTimeoutMs + 2000, `a slow socket lived ${lived} ms`);
      assert.match(received, /^HTTP\/1\.1 408 /);
    }
    await whoami(client);
  });

  it('thousands of pipelined wrong-key requests neither starve a concurrent call nor log a line each', async () => {
    const logger = new RecordingLogger();
    const { gateway, url, path, flood } = await startGateway({ warningWindowMs: 60_000 }, logger);
    const client = await connectUser(url, gateway);
    const perConnection = 100;
    const attack = flood.reconnecting(20, refusedRequest(gateway.port, path).repeat(perConnection));
    const latencies: number[] = [];
    while (latencies.length < 20 || flood.sockets.length * perConnection < 5000) {
      const started = performance.now();
      await whoami(client);
      latencies.push(performance.now() - started);
    }
    const connections = await attack.stop();
    const sent = connections * perConnection;
    const slowest = Math.max(...latencies);
    assert.ok(slowest < 3000, `the slowest of ${latencies.length} calls took ${slowest.toFixed(0)} ms`);
    for (const { received } of flood.sockets.filter((s) => s.received)) {
      assert.equal(received.match(/HTTP\/1\.1 /g)!.length, 1, 'one answer per connection, whatever it pipelined');
      assert.match(received, /^HTTP\/1\.1 403 .*\r\nconnection: close\r\n/is);
    }

    await gateway.close(); // says what was counted and not yet logged
    const refusals = logger.lines.filter((line) => line.includes('refused a POST request'));
    assert.equal(refusals.length, 2, `${sent} refused requests logged as:\n${refusals.join('\n')}`);
    assert.match(refusals[0]!, /^warn \[gateway\] refused a POST request: a missing or wrong gateway key $/);
    const more = Number(/\((\d+) more within 60 s\)/.exec(refusals[1]!)?.[1]);
    assert.ok(more > 0 && more < connections, `${more} more refusals counted for ${connections} connections`);
  });

  it("never reads a refused request's body: a wrong-key POST of 100 MB is answered and cut off at once", async () => {
    const { gateway, path, flood } = await startGateway({});
    const [entry] = await flood.idle(1);
    const declared = 100 * 1024 * 1024;
    entry!.socket.write(refusedHead(gateway.port, path, declared));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let accepted = 0;
    // A chunk counts once the kernel took it; a write fails once the gateway has closed the connection.
    while (accepted < declared) {
      const failed = await new Promise<Error | null | undefined>((resolve) => entry!.socket.write(chunk, resolve));
      if (failed) break;
      accepted += chunk.length;
    }
    assert.match(entry!.received, /^HTTP\/1\.1 403 /);
    assert.ok(accepted < declared / 10, `the gateway took ${(accepted / 1024 / 1024).toFixed(1)} MB of the body`);
  });

  it('an open GET stream and slow POST answers (SSE) outlast the header, request and keep-alive timeouts', async () => {
    const limits = {
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
      keepAliveTimeoutMs: 300,
      timeoutCheckIntervalMs: 50,
    };
    const quietMs = 2500; // over each of them, and over the keep-alive timeout with Node's extra second
    const upstream = await startRecordingUpstream((record, res) => {
      if (record.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
        setTimeout(() => res.end('id: 1\ndata: {"late":"get"}\n\n'), quietMs);
      } else if (record.url.endsWith('/headers-late')) {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end('id: 2\ndata: {"late":"post headers"}\n\n');
        }, quietMs);
      } else {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': working\n\n');
        setTimeout(() => res.end('id: 3\ndata: {"late":"post"}\n\n'), quietMs);
      }
    });
    cleanups.push(() => upstream.close());
    const { gateway, url, flood } = await startGateway(limits, undefined, upstream.url, staticTokens('t'));
    const headers = { ...gateway.requestHeaders, accept: 'application/json, text/event-stream' };
    const post = (suffix = '') =>
      fetch(`${url}${suffix}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/call"}',
      }).then((r) => r.text());
    const started = performance.now();
    const [stream, answer, lateAnswer] = await Promise.all([
      fetch(url, { headers }).then((r) => r.text()),
      post(),
      post('/headers-late'),
      flood.idle(10), // meanwhile, idle sockets of another user come and go at the header timeout
    ]);
    assert.ok(performance.now() - started >= quietMs);
    assert.match(stream, /: open[\s\S]*"late":"get"/);
    assert.match(answer, /: working[\s\S]*"late":"post"/);
    assert.match(lateAnswer, /"late":"post headers"/);
    assert.equal(flood.open, 0, "the other user's idle sockets did not last");
  });

  it("a flood that reconnects as fast as it is closed does not keep the user's new connections out", async () => {
    const { gateway, flood } = await startGateway({});
    const attack = flood.reconnecting(200);
    await until(() => flood.sockets.length > 1000, 'the flood to get going', 10_000);
    // Until each of the 64 unproven slots has turned over about 50 times while the user kept connecting.
    const before = flood.sockets.length;
    for (let made = 0; made < 20 || flood.sockets.length - before < 50 * 64; made++) {
      const connection = new KeyedConnection(gateway, '/servers/none/mcp'); // a 404, after the key check
      try {
        assert.equal(await connection.request(), 404, `the user's new connection ${made + 1} got in`);
      } finally {
        connection.destroy();
      }
    }
    await attack.stop();
  });

  it("never evicts a connection that proved the key: the flood only takes the slots the user's connections leave", async () => {
    const { gateway, flood } = await startGateway({ maxConnections: 8, maxUnproven: 4 });
    const user: KeyedConnection[] = [];
    cleanups.push(() => user.forEach((c) => c.destroy()));
    /** A new connection of the user's, proven by a request (a 404, after the key check). */
    const connectKeyed = async () => {
      const connection = new KeyedConnection(gateway, '/servers/none/mcp');
      user.push(connection);
      assert.equal(await connection.request(), 404);
    };
    for (let i = 0; i < 6; i++) await connectKeyed();

    await flood.idle(100);
    await until(() => flood.open <= 2, 'the flood to be held to the two slots left');
    assert.equal(flood.open, 2);
    for (const connection of user) assert.equal(await connection.request(), 404, 'still open, still served');

    // New connections of the user's get in past the flood: unproven ones make way...
    await connectKeyed();
    await connectKeyed();
    for (const connection of user) assert.equal(await connection.request(), 404);
    assert.equal(flood.open, 0);
    // ...and once every slot is proven, nothing else gets in at all: the limit holds.
    const late = await flood.idle(3);
    await Promise.all(late.map((s) => flood.closed(s)));
    for (const connection of user) assert.equal(await connection.request(), 404);
    assert.ok(user.every((c) => !c.closed));
  });
});
