// Our MCP client and the protocol revisions, on the wire: 2026-07-28 (no handshake, no session, the _meta
// envelope and the mirrored headers on every request) against a server of that revision, the 2025 handshake
// against SDK-built servers, the decision between the two, and servers that claim the new one but answer wrong.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { probeChallenge } from '../../src/mcp/challengeProbe';
import { callTool, CLIENT_INFO, connectMcp, listAllTools } from '../../src/mcp/mcpConnection';
import { CancelledError, HttpRequestError, InvalidResponseError, McpOAuthError } from '../../src/oauth/errors';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startModernServer, startSplitDomainServer, type ModernServerFixture } from '../fixtures/mcpServers';
import { MODERN_VERSION, type ModernRequestRecord, type ToolDefinition } from '../fixtures/modernEndpoint';
import { startPagedLegacyServer, type PagedLegacyOptions } from '../fixtures/pagedLegacyServer';
import {
  connectWithSignIn,
  coreEnvironment,
  newServerAuth,
  RecordingLogger,
  ScriptedUser,
  text,
} from './support/coreHarness';
import { startRecordingUpstream } from './support/gatewayHarness';

const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
const META_CLIENT = 'io.modelcontextprotocol/clientInfo';

interface Rpc {
  id?: unknown;
  method?: unknown;
  params?: Record<string, unknown>;
}

const rpcOf = (body: unknown): Rpc => (typeof body === 'object' && body !== null ? body : {});
const base64 = (value: string) => `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;

/** What every request of the 2026-07-28 path must look like, on the wire. */
function assertModernRequest(record: ModernRequestRecord): void {
  const rpc = rpcOf(record.body);
  const what = `${String(rpc.method)} request`;
  assert.equal(record.method, 'POST', what);
  assert.equal(record.headers['mcp-protocol-version'], MODERN_VERSION, `${what}: MCP-Protocol-Version`);
  assert.equal(record.headers['mcp-method'], rpc.method, `${what}: Mcp-Method`);
  assert.equal(record.headers['mcp-session-id'], undefined, `${what}: no session`);
  assert.match(String(record.headers.accept), /application\/json/);
  assert.match(String(record.headers.accept), /text\/event-stream/);
  const meta = rpc.params?._meta;
  assert.ok(typeof meta === 'object' && meta !== null, `${what}: _meta`);
  assert.deepEqual(
    {
      version: Reflect.get(meta, META_VERSION),
      capabilities: Reflect.get(meta, META_CAPABILITIES),
      client: Reflect.get(meta, META_CLIENT),
    },
    { version: MODERN_VERSION, capabilities: {}, client: CLIENT_INFO },
    `${what}: the envelope`,
  );
}

function reply(res: ServerResponse, status: number, payload: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
}

const DISCOVER_RESULT = {
  resultType: 'complete',
  supportedVersions: [MODERN_VERSION],
  capabilities: { tools: {} },
  ttlMs: 0,
  cacheScope: 'public',
};

describe('our MCP client and the protocol revisions', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  const connect = async (url: string, logger?: RecordingLogger): Promise<Client> => {
    const client = await connectMcp(url, globalThis.fetch, logger ? { logger } : {});
    cleanups.push(() => client.close());
    return client;
  };

  describe('2026-07-28, against a server of that revision', () => {
    let server: ModernServerFixture;
    const extraTools: ToolDefinition[] = [{ name: 'météo', inputSchema: { type: 'object' } }];
    before(async () => {
      server = await startModernServer({ extraTools });
    });
    after(() => server.close());
    const since = (start: number) => server.requests.slice(start);

    it('asks server/discover and never initialize; every request has the envelope, the headers and no session', async () => {
      const start = server.requests.length;
      const client = await connect(server.url);
      assert.equal(client.getServerVersion()?.name, 'modern', "server/discover's serverInfo");
      assert.equal(client.getInstructions(), 'Test tools.');
      assert.deepEqual(client.getServerCapabilities(), { tools: {} });

      const tools = await listAllTools(client);
      assert.deepEqual(
        tools.map((t) => t.name),
        ['whoami', 'admin_action', 'echo_region', 'météo'],
        'both pages, in order',
      );
      const who = JSON.parse(text(await callTool(client, 'whoami', {}))) as { sub: unknown };
      assert.equal(who.sub, null, 'the tool ran (no token on this server)');
      assert.equal(text(await callTool(client, 'météo', { city: 'Zürich' })), '{"city":"Zürich"}');
      await client.close();

      const seen = since(start);
      assert.deepEqual(
        seen.map((r) => r.rpcMethod),
        ['server/discover', 'tools/list', 'tools/list', 'tools/call', 'tools/call'],
        'no initialize, no notifications/initialized, no GET stream, no DELETE on close',
      );
      for (const record of seen) {
        assertModernRequest(record);
        assert.equal(record.status, 200);
      }
      assert.equal(rpcOf(seen[1]!.body).params?.cursor, undefined);
      assert.equal(rpcOf(seen[2]!.body).params?.cursor, 'page-2', 'the cursor, passed back as it came');
      assert.equal(seen[3]!.headers['mcp-name'], 'whoami');
      assert.equal(seen[4]!.headers['mcp-name'], base64('météo'), 'a name that is not plain ASCII, in base64');
    });

    it("mirrors a tool's x-mcp-header parameters into Mcp-Param-* headers, base64 when not plain ASCII", async () => {
      const client = await connect(server.url);
      await listAllTools(client);
      const start = server.requests.length;
      await callTool(client, 'echo_region', { region: 'us-west1', priority: 7, note: 'n' });
      await callTool(client, 'echo_region', { region: ' Zürich', priority: null });
      await callTool(client, 'echo_region', { region: '=?base64?literal?=' });
      const [plain, encoded, sentinel] = since(start);
      assert.deepEqual(
        [plain!.headers['mcp-param-region'], plain!.headers['mcp-param-priority'], plain!.headers['mcp-param-note']],
        ['us-west1', '7', undefined],
      );
      assert.equal(encoded!.headers['mcp-param-region'], base64(' Zürich'));
      assert.equal(encoded!.headers['mcp-param-priority'], undefined, 'null: no header');
      assert.equal(sentinel!.headers['mcp-param-region'], base64('=?base64?literal?='), 'a value like the sentinel');
      assert.deepEqual(
        since(start).map((r) => r.status),
        [200, 200, 200],
        'the server checked each header against the body',
      );
    });

    it('lists the tools and retries once when a tools/call before any listing is refused for its headers', async () => {
      const client = await connect(server.url);
      const start = server.requests.length;
      assert.equal(text(await callTool(client, 'echo_region', { region: 'eu' })), '{"region":"eu"}');
      const seen = since(start);
      assert.deepEqual(
        seen.map((r) => [r.rpcMethod, r.status, r.errorCode]),
        [
          ['tools/call', 400, -32020],
          ['tools/list', 200, undefined],
          ['tools/list', 200, undefined],
          ['tools/call', 200, undefined],
        ],
      );
      assert.equal(seen[3]!.headers['mcp-param-region'], 'eu');
      assert.notEqual(rpcOf(seen[3]!.body).id, rpcOf(seen[0]!.body).id, 'the retry is a new request');
      for (const record of seen) assertModernRequest(record);
    });

    it('reads answers sent as SSE: a comment, a progress notification, then the result', async () => {
      const streaming = await startModernServer({ sse: true });
      cleanups.push(() => streaming.close());
      const client = await connect(streaming.url);
      assert.equal((await listAllTools(client)).length, 3);
      const progress: number[] = [];
      const result = await client.callTool({ name: 'whoami', arguments: {} }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.match(text(result), /"sub":null/);
      assert.deepEqual(progress, [1], 'the notification before the answer reached the caller');
    });

    it('leaves out, with a warning naming each, the tools whose x-mcp-header breaks the rules', async () => {
      const region = (extra: Record<string, unknown>) => ({ type: 'string', 'x-mcp-header': 'Region', ...extra });
      const invalid: ToolDefinition[] = [
        {
          name: 'on_a_number',
          inputSchema: { type: 'object', properties: { n: { type: 'number', 'x-mcp-header': 'N' } } },
        },
        {
          name: 'not_a_token',
          inputSchema: { type: 'object', properties: { r: region({ 'x-mcp-header': 'Re gion' }) } },
        },
        {
          name: 'twice',
          inputSchema: { type: 'object', properties: { a: region({}), b: region({ 'x-mcp-header': 'region' }) } },
        },
        {
          name: 'in_items',
          inputSchema: { type: 'object', properties: { list: { type: 'array', items: region({}) } } },
        },
        { name: 'in_any_of', inputSchema: { type: 'object', anyOf: [{ properties: { r: region({}) } }] } },
      ];
      const valid: ToolDefinition[] = [
        {
          name: 'nested',
          inputSchema: {
            type: 'object',
            properties: { where: { type: 'object', properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } } },
          },
        },
        // A property called x-mcp-header, and the word as data, are not annotations.
        {
          name: 'named_so',
          inputSchema: {
            type: 'object',
            properties: { 'x-mcp-header': { type: 'string', default: 'x', examples: [{ 'x-mcp-header': 'A' }] } },
          },
        },
      ];
      const odd = await startModernServer({ extraTools: [...invalid, ...valid], pageSize: 3 });
      cleanups.push(() => odd.close());
      const logger = new RecordingLogger();
      const client = await connect(odd.url, logger);
      assert.deepEqual(
        (await listAllTools(client)).map((t) => t.name),
        ['whoami', 'admin_action', 'echo_region', 'nested', 'named_so'],
      );
      for (const { name } of invalid) {
        assert.ok(
          logger.lines.some((line) => line.startsWith('warn') && line.includes(`"${name}"`)),
          `a warning names ${name}: ${logger.lines.join(' | ')}`,
        );
      }
      const start = odd.requests.length;
      await callTool(client, 'nested', { where: { zone: 'z1' } });
      assert.equal(odd.requests[start]!.headers['mcp-param-zone'], 'z1', 'a nested annotated parameter');
      assert.equal(odd.requests[start]!.status, 200);
    });

    it('keeps paginating after an empty cursor, and refuses a cursor that comes back', async () => {
      const pages: Record<string, unknown> = {
        first: { tools: [{ name: 'a', inputSchema: { type: 'object' } }], nextCursor: '' },
        '': { tools: [{ name: 'b', inputSchema: { type: 'object' } }], nextCursor: 'loop' },
        loop: { tools: [{ name: 'c', inputSchema: { type: 'object' } }], nextCursor: 'loop' },
      };
      const upstream = await startRecordingUpstream((record, res) => {
        const rpc = rpcOf(JSON.parse(record.body));
        if (rpc.method === 'server/discover')
          return reply(res, 200, { jsonrpc: '2.0', id: rpc.id, result: DISCOVER_RESULT });
        const cursor = rpc.params?.cursor;
        const page = pages[typeof cursor === 'string' ? cursor : 'first'];
        reply(res, 200, { jsonrpc: '2.0', id: rpc.id, result: { resultType: 'complete', ...(page as object) } });
      });
      cleanups.push(() => upstream.close());
      const client = await connect(upstream.url);
      await assert.rejects(listAllTools(client), (error: unknown) => {
        assert.ok(error instanceof InvalidResponseError && error.code === 'invalid_response', String(error));
        assert.match(error.message, /repeats the cursor "loop"/);
        return true;
      });
      const cursors = upstream.requests.map((r) => rpcOf(JSON.parse(r.body)).params?.cursor);
      assert.deepEqual(cursors, [undefined, undefined, '', 'loop'], 'the empty cursor was followed');
    });
  });

  describe('the 2025 handshake, against SDK-built servers', () => {
    it('falls back to initialize when server/discover is refused, keeps the session, and follows the pages', async () => {
      const legacy = await startPagedLegacyServer();
      cleanups.push(() => legacy.close());
      const client = await connect(legacy.url);
      assert.deepEqual(
        (await listAllTools(client)).map((t) => t.name),
        ['tool-1', 'tool-2', 'tool-3', 'tool-4', 'tool-5'],
      );
      assert.equal(text(await callTool(client, 'tool-4', {})), 'tool-4 ran');

      const [probe, initialize, ...rest] = legacy.requests;
      assert.deepEqual([probe!.rpcMethod, probe!.status, probe!.sessionId], ['server/discover', 400, undefined]);
      assert.deepEqual([initialize!.rpcMethod, initialize!.status], ['initialize', 200]);
      const [session] = legacy.sessionIds();
      assert.ok(session, 'the server opened a session');
      const posts = rest.filter((r) => r.method === 'POST');
      assert.deepEqual(
        posts.map((r) => r.rpcMethod),
        ['notifications/initialized', 'tools/list', 'tools/list', 'tools/list', 'tools/call'],
      );
      for (const record of rest) {
        assert.equal(record.sessionId, session, `${record.method} ${record.rpcMethod ?? ''}: the session id`);
        assert.equal(record.protocolVersion, '2025-11-25', 'the version the handshake settled');
      }
    });

    it('speaks 2025-06-18 with a server that answers initialize with it', async () => {
      const legacy = await startPagedLegacyServer({ protocolVersion: '2025-06-18', tools: 1 });
      cleanups.push(() => legacy.close());
      const client = await connect(legacy.url);
      assert.equal(text(await callTool(client, 'tool-1', {})), 'tool-1 ran');
      const call = legacy.requests.find((r) => r.rpcMethod === 'tools/call')!;
      assert.equal(call.protocolVersion, '2025-06-18');
      assert.ok(call.sessionId);
    });
  });

  describe('the decision, from the answer to server/discover', () => {
    const legacyAnswers: [string, PagedLegacyOptions['sessionless']][] = [
      ["HTTP 400 with the SDK transport's own -32000", undefined],
      [
        'HTTP 200 with -32601 method not found',
        (req, res) => void res.json(rpcError(req.body, -32601, 'Method not found')),
      ],
      ['HTTP 404 with no body', (_req, res) => void res.status(404).end()],
      ['HTTP 405 with a text body', (_req, res) => void res.status(405).type('text/plain').send('Method Not Allowed')],
      ['HTTP 400 with -32602 invalid params', (req, res) => void res.status(400).json(rpcError(req.body, -32602, 'x'))],
      [
        'HTTP 400 with -32022 listing only 2025-06-18',
        (req, res) =>
          void res
            .status(400)
            .json(rpcError(req.body, -32022, 'Unsupported', { supported: ['2025-06-18'], requested: MODERN_VERSION })),
      ],
      [
        'a DiscoverResult listing only 2025-11-25',
        (req, res) =>
          void res.json({
            jsonrpc: '2.0',
            id: rpcOf(req.body).id,
            result: { ...DISCOVER_RESULT, supportedVersions: ['2025-11-25'] },
          }),
      ],
    ];
    for (const [answer, sessionless] of legacyAnswers) {
      it(`${answer}: the 2025 handshake`, async () => {
        const legacy = await startPagedLegacyServer({ tools: 1, ...(sessionless ? { sessionless } : {}) });
        cleanups.push(() => legacy.close());
        const client = await connect(legacy.url);
        assert.equal(text(await callTool(client, 'tool-1', {})), 'tool-1 ran');
        assert.deepEqual(
          legacy.requests.slice(0, 2).map((r) => r.rpcMethod),
          ['server/discover', 'initialize'],
        );
      });
    }

    const failures: [string, PagedLegacyOptions['sessionless'], (error: unknown) => void][] = [
      [
        'HTTP 400 with -32022 listing only versions this client does not speak',
        (req, res) =>
          void res
            .status(400)
            .json(rpcError(req.body, -32022, 'Unsupported', { supported: ['2027-01-01'], requested: MODERN_VERSION })),
        (error) => {
          assert.ok(error instanceof McpOAuthError && error.code === 'unsupported_protocol_version', String(error));
          assert.match(error.message, /"2027-01-01"/);
        },
      ],
      [
        'HTTP 400 with -32022 and no list of versions',
        (req, res) => void res.status(400).json(rpcError(req.body, -32022, 'Unsupported')),
        (error) => assert.ok(error instanceof InvalidResponseError && error.code === 'invalid_response', String(error)),
      ],
      [
        'HTTP 400 with -32020 header mismatch',
        (req, res) => void res.status(400).json(rpcError(req.body, -32020, 'Header mismatch')),
        (error) => assert.ok(error instanceof McpError && error.code === -32020, String(error)),
      ],
      [
        'HTTP 400 with -32021 missing capability',
        (req, res) =>
          void res
            .status(400)
            .json(rpcError(req.body, -32021, 'Needs elicitation', { requiredCapabilities: { elicitation: {} } })),
        (error) => assert.ok(error instanceof McpError && error.code === -32021, String(error)),
      ],
      [
        'HTTP 500',
        (_req, res) => void res.status(500).send('oops'),
        (error) => {
          assert.ok(error instanceof HttpRequestError && error.code === 'http_error', String(error));
          assert.match(error.message, /HTTP 500/);
        },
      ],
      [
        "HTTP 401 (sign-in is the fetch's job; this one gave up)",
        (_req, res) => void res.status(401).set('www-authenticate', 'Bearer').json({ error: 'invalid_token' }),
        (error) => assert.ok(error instanceof HttpRequestError && /HTTP 401/.test(error.message), String(error)),
      ],
      [
        'a malformed DiscoverResult',
        (req, res) =>
          void res.json({
            jsonrpc: '2.0',
            id: rpcOf(req.body).id,
            result: { supportedVersions: MODERN_VERSION, capabilities: {} },
          }),
        (error) => {
          assert.ok(error instanceof InvalidResponseError && error.code === 'invalid_response', String(error));
          assert.match(error.message, /server\/discover result .* is malformed \("supportedVersions"/);
        },
      ],
      [
        'HTTP 200 with an HTML page',
        (_req, res) => void res.type('text/html').send('<html></html>'),
        (error) => assert.ok(error instanceof InvalidResponseError && /text\/html/.test(error.message), String(error)),
      ],
      [
        'HTTP 200 with JSON that does not parse',
        (_req, res) => void res.type('application/json').send('{"jsonrpc":'),
        (error) => assert.ok(error instanceof HttpRequestError && error.code === 'invalid_json', String(error)),
      ],
    ];
    for (const [answer, sessionless, check] of failures) {
      it(`${answer}: a typed error, and no handshake`, async () => {
        const legacy = await startPagedLegacyServer({ tools: 1, sessionless });
        cleanups.push(() => legacy.close());
        await assert.rejects(connectMcp(legacy.url, globalThis.fetch), (error: unknown) => {
          check(error);
          return true;
        });
        assert.deepEqual(
          legacy.requests.map((r) => r.rpcMethod),
          ['server/discover'],
        );
      });
    }
  });

  describe('a server that does not answer server/discover', () => {
    const silent = async () => {
      const upstream = await startRecordingUpstream(() => undefined); // holds every request open
      cleanups.push(() => upstream.close());
      return upstream;
    };

    it('is down, not old: a timeout, and no handshake', async () => {
      const upstream = await silent();
      await assert.rejects(connectMcp(upstream.url, globalThis.fetch, { timeoutMs: 200 }), (error: unknown) => {
        assert.ok(error instanceof HttpRequestError && error.code === 'timeout', String(error));
        assert.match(error.message, /did not answer server\/discover within 200 ms/);
        return true;
      });
      assert.equal(upstream.requests.length, 1);
    });

    it('can be given up on: a cancellation', async () => {
      const upstream = await silent();
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(
        connectMcp(upstream.url, globalThis.fetch, { signal: controller.signal }),
        (error: unknown) => error instanceof CancelledError,
      );
    });
  });

  describe('a server that speaks 2026-07-28 but answers wrong', () => {
    type Answer = (rpc: Rpc, res: ServerResponse) => void;
    const result = (rpc: Rpc, res: ServerResponse, value: unknown) =>
      reply(res, 200, { jsonrpc: '2.0', id: rpc.id, result: value });
    /** Answers server/discover well, and the rest with `answer`. */
    const scripted = async (answer: Answer) => {
      const upstream = await startRecordingUpstream((record, res) => {
        const rpc = rpcOf(JSON.parse(record.body));
        if (rpc.method === 'server/discover') result(rpc, res, DISCOVER_RESULT);
        else answer(rpc, res);
      });
      cleanups.push(() => upstream.close());
      return upstream;
    };
    const wrong: [string, Answer, (error: unknown) => void][] = [
      [
        'a tool without a string name',
        (rpc, res) =>
          result(rpc, res, { resultType: 'complete', tools: [{ name: 5, inputSchema: { type: 'object' } }] }),
        (error) => {
          assert.ok(error instanceof InvalidResponseError && error.code === 'invalid_response', String(error));
          assert.match(error.message, /tools\/list result is malformed \("tools\.0\.name"/);
        },
      ],
      [
        'an unknown resultType',
        (rpc, res) => result(rpc, res, { resultType: 'partial', tools: [] }),
        (error) =>
          assert.ok(
            error instanceof InvalidResponseError && /unknown resultType "partial"/.test(error.message),
            String(error),
          ),
      ],
      [
        'input_required with input requests it was never offered',
        (rpc, res) =>
          result(rpc, res, {
            resultType: 'input_required',
            inputRequests: { q: { method: 'elicitation/create', params: { message: 'Name?', requestedSchema: {} } } },
          }),
        (error) =>
          assert.ok(
            error instanceof InvalidResponseError && /declared no capability/.test(error.message),
            String(error),
          ),
      ],
      [
        'input_required with nothing to answer or echo',
        (rpc, res) => result(rpc, res, { resultType: 'input_required' }),
        (error) =>
          assert.ok(
            error instanceof InvalidResponseError && /neither inputRequests nor requestState/.test(error.message),
            String(error),
          ),
      ],
      [
        'input_required again and again',
        (rpc, res) => result(rpc, res, { resultType: 'input_required', requestState: 'again' }),
        (error) => assert.ok(error instanceof InvalidResponseError && /kept asking/.test(error.message), String(error)),
      ],
      [
        'an answer to another request',
        (_rpc, res) =>
          reply(res, 200, { jsonrpc: '2.0', id: 'someone-else', result: { resultType: 'complete', tools: [] } }),
        (error) =>
          assert.ok(error instanceof InvalidResponseError && /another request/.test(error.message), String(error)),
      ],
      [
        'a request on the SSE stream',
        (rpc, res) =>
          reply(
            res,
            200,
            `data: ${JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'roots/list' })}\n\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: { tools: [] } })}\n\n`,
            'text/event-stream',
          ),
        (error) =>
          assert.ok(error instanceof InvalidResponseError && /carries a request/.test(error.message), String(error)),
      ],
      [
        'an SSE stream that ends without an answer',
        (_rpc, res) => reply(res, 200, ': nothing\n\n', 'text/event-stream'),
        (error) =>
          assert.ok(error instanceof InvalidResponseError && /without an answer/.test(error.message), String(error)),
      ],
      [
        'a 502 with an HTML page',
        (_rpc, res) => reply(res, 502, '<html>Bad Gateway</html>', 'text/html'),
        (error) =>
          assert.ok(
            error instanceof HttpRequestError && error.code === 'http_error' && /HTTP 502/.test(error.message),
            String(error),
          ),
      ],
    ];
    for (const [what, answer, check] of wrong) {
      it(`${what}: a typed error`, async () => {
        const upstream = await scripted(answer);
        const client = await connect(upstream.url);
        await assert.rejects(listAllTools(client), (error: unknown) => {
          check(error);
          return true;
        });
      });
    }

    it('a tools/call result whose content is not a list: invalid_response, nothing cast', async () => {
      const upstream = await scripted((rpc, res) => result(rpc, res, { resultType: 'complete', content: 'done' }));
      const client = await connect(upstream.url);
      await assert.rejects(callTool(client, 'x', {}), (error: unknown) => {
        assert.ok(error instanceof InvalidResponseError && error.code === 'invalid_response', String(error));
        assert.match(error.message, /"tools\/call" result is malformed \("content"/);
        return true;
      });
    });

    it('an error in the body of a 200 or a 4xx reaches the caller as the McpError it is', async () => {
      const upstream = await scripted((rpc, res) =>
        reply(res, rpc.method === 'tools/call' ? 404 : 200, {
          jsonrpc: '2.0',
          id: rpc.id,
          error: { code: -32601, message: 'Method not found' },
        }),
      );
      const client = await connect(upstream.url);
      await assert.rejects(client.listTools(), (error: unknown) => error instanceof McpError && error.code === -32601);
      await assert.rejects(
        callTool(client, 'x', {}),
        (error: unknown) => error instanceof McpError && error.code === -32601,
      );
    });

    it('retries input_required that carries only requestState, with it echoed and a new id', async () => {
      const upstream = await scripted((rpc, res) =>
        rpc.params?.requestState === 'opaque-1'
          ? result(rpc, res, { resultType: 'complete', content: [{ type: 'text', text: 'done' }] })
          : result(rpc, res, { resultType: 'input_required', requestState: 'opaque-1' }),
      );
      const client = await connect(upstream.url);
      assert.equal(text(await callTool(client, 'slow', { a: 1 })), 'done');
      const [first, retry] = upstream.requests.slice(1).map((r) => rpcOf(JSON.parse(r.body)));
      assert.notEqual(retry!.id, first!.id);
      assert.deepEqual(retry!.params?.arguments, { a: 1 }, 'the original params');
      assert.equal(retry!.params?.requestState, 'opaque-1');
    });
  });

  describe('the challenge probe', () => {
    let as: AuthServer;
    before(async () => {
      as = await startAuthServer();
    });
    after(() => as.close());

    it("gets a 2026-07-28 server's challenge with a well-formed tools/list, not initialize", async () => {
      const server = await startModernServer({ as });
      cleanups.push(() => server.close());
      const challenge = await probeChallenge(globalThis.fetch, server.url);
      assert.deepEqual(challenge, {
        error: 'invalid_token',
        errorDescription: challenge?.errorDescription,
        scopes: ['mcp:read'],
        resourceMetadataUrl: server.resourceMetadataUrl,
      });
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0]!.rpcMethod, 'tools/list');
      assertModernRequest(server.requests[0]!);
      assert.equal(server.requests[0]!.headers.authorization, undefined);
    });

    it("gets a stateful server's challenge from the same request", async () => {
      const split = await startSplitDomainServer({ as });
      cleanups.push(() => split.close());
      const challenge = await probeChallenge(globalThis.fetch, split.url);
      assert.equal(challenge?.resourceMetadataUrl, split.resourceMetadataUrl);
      assert.deepEqual(
        split.requests.map((r) => r.rpcMethod),
        ['tools/list'],
      );
    });

    it('asks with initialize too when an older server wants a session before it looks at the token', async () => {
      const upstream = await startRecordingUpstream((record, res) => {
        if (rpcOf(JSON.parse(record.body)).method !== 'initialize')
          return reply(res, 400, {
            jsonrpc: '2.0',
            id: null,
            error: { code: -32000, message: 'Bad Request: Mcp-Session-Id required' },
          });
        res.writeHead(401, { 'www-authenticate': 'Bearer scope="files:read"' });
        res.end();
      });
      cleanups.push(() => upstream.close());
      assert.deepEqual(await probeChallenge(globalThis.fetch, upstream.url), { scopes: ['files:read'] });
      assert.deepEqual(
        upstream.requests.map((r) => rpcOf(JSON.parse(r.body)).method),
        ['tools/list', 'initialize'],
      );
    });

    it('does not fall back when a 2026-07-28 server refuses the probe with one of its own errors', async () => {
      const upstream = await startRecordingUpstream((_record, res) =>
        reply(res, 400, {
          jsonrpc: '2.0',
          id: 0,
          error: { code: -32022, message: 'no', data: { supported: ['2027-01-01'], requested: MODERN_VERSION } },
        }),
      );
      cleanups.push(() => upstream.close());
      assert.equal(await probeChallenge(globalThis.fetch, upstream.url), undefined);
      assert.equal(upstream.requests.length, 1);
    });
  });

  describe('signing in to a 2026-07-28 server', () => {
    let as: AuthServer;
    let server: ModernServerFixture;
    before(async () => {
      as = await startAuthServer();
      server = await startModernServer({ as });
    });
    after(async () => {
      await server.close();
      await as.close();
    });

    it('signs in through its 401, calls a tool with the token, and steps up on its 403', async () => {
      const user = new ScriptedUser();
      const client = await connectWithSignIn(newServerAuth(coreEnvironment(), server.url), user);
      cleanups.push(() => client.close());
      const who = JSON.parse(text(await callTool(client, 'whoami', {}))) as { sub: string; scopes: string[] };
      assert.equal(who.sub, 'alice');
      assert.deepEqual(who.scopes, ['mcp:read']);
      assert.match(text(await callTool(client, 'admin_action', {})), /admin action done for alice/);
      assert.equal(user.shown.length, 2, 'the sign-in, then the step-up');
      assert.equal(user.shown[1]!.searchParams.get('scope'), 'mcp:read mcp:write offline_access');
      const discover = server.requests.find((r) => r.rpcMethod === 'server/discover' && r.status === 200)!;
      assert.match(String(discover.headers.authorization), /^Bearer /);
      assert.ok(!server.requests.some((r) => r.rpcMethod === 'initialize'));
    });
  });
});

function rpcError(body: unknown, code: number, message: string, data?: unknown) {
  return { jsonrpc: '2.0', id: rpcOf(body).id ?? null, error: { code, message, ...(data ? { data } : {}) } };
}
