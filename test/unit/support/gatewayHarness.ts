// Helpers for the token gateway tests: raw HTTP requests (with any Host or Origin), a recording upstream,
// strict fake token sources, and an SDK client pointed at the gateway the way VS Code's would be.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { GatewayTokenSource } from '../../../src/mcp/gateway/gatewayTokens';
import type { TokenGateway } from '../../../src/mcp/gateway/tokenGateway';
import type { FetchLike } from '../../../src/oauth/http/policyFetch';
import { listenOnLoopback, type LoopbackServer } from '../../fixtures/loopback';

export const signInHint = (id: string): string => `run "MCP OAuth: Sign In…" and pick ${id}`;

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One HTTP request on its own connection, with exactly the headers given: no Host unless one is given. */
export function rawRequest(
  port: number,
  { method = 'GET', path, headers = {}, body }: RawRequest,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: false, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface UpstreamRecord {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecordingUpstream extends LoopbackServer {
  /** `<origin>/mcp` */
  url: string;
  requests: UpstreamRecord[];
}

export type UpstreamHandler = (record: UpstreamRecord, res: http.ServerResponse, req: http.IncomingMessage) => void;

const answerOk: UpstreamHandler = (record, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'upstream-session' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { ok: true, path: record.url } }));
};

/** A loopback server that records every request (body included) and answers with `handler`. */
export async function startRecordingUpstream(handler: UpstreamHandler = answerOk): Promise<RecordingUpstream> {
  const requests: UpstreamRecord[] = [];
  const server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(record);
      handler(record, res, req);
    });
  });
  return { ...server, url: `${server.origin}/mcp`, requests };
}

/** A token source with one fixed token; any use beyond `getAccessToken` fails the test unless allowed. */
export function staticTokens(
  token: string,
  more: Partial<GatewayTokenSource> = {},
): GatewayTokenSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async getAccessToken() {
      calls.push('getAccessToken');
      return more.getAccessToken ? more.getAccessToken() : token;
    },
    async refresh(rejected) {
      calls.push('refresh');
      if (!more.refresh)
        throw new Error(`unexpected refresh of ${rejected === token ? 'the static token' : 'another token'}`);
      return more.refresh(rejected);
    },
    ...(more.stepUp
      ? {
          async stepUp(challenge) {
            calls.push('stepUp');
            return more.stepUp!(challenge);
          },
        }
      : {}),
  };
}

/** The HTTP statuses and (for finished POSTs) the bodies a client saw, through a wrapping fetch. */
export class RecordingFetch {
  readonly statuses: number[] = [];
  readonly bodies: Promise<string>[] = [];
  readonly headers: Headers[] = [];
  readonly fetch: FetchLike = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    this.statuses.push(response.status);
    this.headers.push(response.headers);
    if ((init?.method ?? 'GET') === 'POST') this.bodies.push(response.clone().text());
    return response;
  };
}

/** An SDK client connected to a gateway route with the key header, as VS Code's MCP client would be. */
export async function connectViaGateway(
  url: string,
  gateway: TokenGateway,
  fetch: FetchLike = globalThis.fetch,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'vscode-like', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch,
    requestInit: { headers: gateway.requestHeaders },
  });
  await client.connect(transport);
  return { client, transport };
}

/** A port on which nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = await listenOnLoopback((_req, res) => res.end());
  await server.close();
  return server.port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition` holds, polling; fails after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
