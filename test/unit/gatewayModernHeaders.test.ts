// The token gateway and the 2026-07-28 request headers: MCP-Protocol-Version, Mcp-Method, Mcp-Name and
// Mcp-Param-* reach the upstream byte for byte (an intermediary "MUST forward" an Mcp-Param-* it does not
// know, streamable-http §Server Behavior for Custom Headers), and a modern server's refusals come back as they
// were sent, since a client tells the eras apart by them.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { TokenGateway } from '../../src/mcp/gateway/tokenGateway';
import { callTool, connectMcp, listAllTools } from '../../src/mcp/mcpConnection';
import type { FetchLike } from '../../src/oauth/http/policyFetch';
import { startModernServer } from '../fixtures/mcpServers';
import { MODERN_VERSION } from '../fixtures/modernEndpoint';
import { startPagedLegacyServer } from '../fixtures/pagedLegacyServer';
import { text } from './support/coreHarness';
import { signInHint, startRecordingUpstream, staticTokens } from './support/gatewayHarness';

const base64 = (value: string) => `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;

describe('token gateway: 2026-07-28 headers', () => {
  let gateway: TokenGateway;
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let nextId = 0;
  before(async () => {
    gateway = await TokenGateway.start({ signInHint });
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  after(() => gateway.close());

  const route = (upstreamUrl: string): string => {
    const registration = gateway.register({
      id: `modern-${++nextId}`,
      upstreamUrl,
      tokens: staticTokens('static-token'),
    });
    cleanups.push(() => registration.dispose());
    return registration.url;
  };
  /** A fetch that adds the gateway key, as VS Code's client has it in its server definition. */
  const keyed: FetchLike = (input, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(gateway.requestHeaders)) headers.set(name, value);
    return globalThis.fetch(input, { ...init, headers });
  };

  it('forwards each standard header and each Mcp-Param-* unchanged, plain or base64', async () => {
    const upstream = await startRecordingUpstream((_record, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-protocol-version': MODERN_VERSION });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { resultType: 'complete', content: [] } }));
    });
    cleanups.push(() => upstream.close());
    const url = route(upstream.url);
    const sent: Record<string, string> = {
      'MCP-Protocol-Version': MODERN_VERSION,
      'Mcp-Method': 'tools/call',
      'Mcp-Name': base64('météo'),
      'Mcp-Param-Region': 'us-west1',
      'Mcp-Param-Greeting': base64('Hello, 世界'),
      'mcp-param-priority': '7',
      'Mcp-Param-Text': base64(' padded '),
    };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'météo' } });
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        ...gateway.requestHeaders,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...sent,
      },
      body,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('mcp-protocol-version'), MODERN_VERSION, 'and back, where a server sends it');
    assert.equal(response.headers.get('mcp-session-id'), null, 'no session appears on the way');

    const [seen] = upstream.requests;
    for (const [name, value] of Object.entries(sent)) {
      assert.equal(seen!.headers[name.toLowerCase()], value, name);
    }
    assert.equal(seen!.body, body, 'the body they mirror, untouched');
    assert.equal(seen!.headers.authorization, 'Bearer static-token');
    assert.equal(seen!.headers[gateway.keyHeader], undefined, 'the gateway key stays behind');

    // A second request with only the headers every method has.
    await fetch(url, {
      method: 'POST',
      headers: {
        ...gateway.requestHeaders,
        'content-type': 'application/json',
        'MCP-Protocol-Version': MODERN_VERSION,
        'Mcp-Method': 'server/discover',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'server/discover' }),
    });
    const second = upstream.requests[1]!;
    assert.deepEqual(
      Object.keys(second.headers).filter((name) => name.startsWith('mcp-')),
      ['mcp-protocol-version', 'mcp-method'],
      'nothing added',
    );
  });

  it("passes a modern server's refusals back as they were sent: status, code and body", async () => {
    const refusals: Record<string, [number, unknown]> = {
      'tools/list': [
        400,
        {
          jsonrpc: '2.0',
          id: 1,
          error: {
            code: -32022,
            message: 'Unsupported protocol version',
            data: { supported: [MODERN_VERSION], requested: '2025-11-25' },
          },
        },
      ],
      'tools/call': [
        400,
        { jsonrpc: '2.0', id: 1, error: { code: -32020, message: 'Header mismatch: Mcp-Param-Region' } },
      ],
      ping: [404, { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }],
    };
    const upstream = await startRecordingUpstream((record, res) => {
      const [status, payload] = refusals[String(record.headers['mcp-method'])]!;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    });
    cleanups.push(() => upstream.close());
    const url = route(upstream.url);
    for (const [method, [status, payload]] of Object.entries(refusals)) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          ...gateway.requestHeaders,
          'content-type': 'application/json',
          'mcp-protocol-version': MODERN_VERSION,
          'mcp-method': method,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method }),
      });
      assert.equal(response.status, status, method);
      assert.deepEqual(await response.json(), payload, method);
    }
  });

  it('carries our 2026-07-28 client to a strict 2026-07-28 server, and its era fallback to a 2025 one', async () => {
    const modern = await startModernServer();
    cleanups.push(() => modern.close());
    const client = await connectMcp(route(modern.url), keyed);
    cleanups.push(() => client.close());
    assert.equal((await listAllTools(client)).length, 3);
    assert.equal(
      text(await callTool(client, 'echo_region', { region: 'Zürich', priority: 2 })),
      '{"region":"Zürich","priority":2}',
    );
    assert.ok(
      modern.requests.every((r) => r.status === 200),
      'the server found every header matching its body',
    );
    const call = modern.requests.find((r) => r.rpcMethod === 'tools/call')!;
    assert.equal(call.headers['mcp-param-region'], base64('Zürich'));
    assert.equal(call.headers.authorization, 'Bearer static-token');

    const legacy = await startPagedLegacyServer({ tools: 1 });
    cleanups.push(() => legacy.close());
    const old = await connectMcp(route(legacy.url), keyed);
    cleanups.push(() => old.close());
    assert.equal(text(await callTool(old, 'tool-1', {})), 'tool-1 ran');
    assert.deepEqual(
      legacy.requests.slice(0, 2).map((r) => [r.rpcMethod, r.status]),
      [
        ['server/discover', 400],
        ['initialize', 200],
      ],
      "the old server's 400 reached the client, which fell back",
    );
  });
});
