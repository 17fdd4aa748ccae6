// Scenario 5 (plain Node): every row of a tree of 200 servers × 100 tools, computed with the pure tree model
// (src/vscode/model/treeModel.ts): what the TreeDataProvider derives for each row, without the VS Code classes. The
// extension-host benchmark (bench/activation) runs the real ServersTreeDataProvider on the same data.
import { performance } from 'node:perf_hooks';
import {
  displayStatus,
  hostOf,
  oneLine,
  registrationText,
  serverContextValue,
  serverDescription,
  statusIcon,
  timeLeft,
  tokenDescription,
  type ServerSummary,
} from '../src/vscode/model/treeModel';
import type { SessionInfo } from '../src/vscode/model/sessionInfo';
import { median, round } from './stats';

export interface ScaleTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: { type: 'object'; properties: Record<string, object>; required: string[] };
}

export interface ScaleServer extends ServerSummary {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly session: SessionInfo;
  readonly tools: readonly ScaleTool[];
}

/** `servers` signed-in servers with `tools` tools each, with descriptions and schemas of a realistic size. */
export function scaleData(servers: number, tools: number, now: number): ScaleServer[] {
  const toolList: ScaleTool[] = Array.from({ length: tools }, (_, i) => ({
    name: `tool_${i}`,
    description: `Does thing number ${i} with the given query and options.\nReturns a JSON document; see the server documentation for the fields.`,
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'What to look for' },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        options: {
          type: 'object',
          properties: { verbose: { type: 'boolean' }, fields: { type: 'array', items: { type: 'string' } } },
        },
      },
      required: ['query'],
    },
  }));
  return Array.from({ length: servers }, (_, i) => ({
    id: `server-${i}`,
    name: `Server ${i}`,
    url: `https://mcp-${i}.example.test/mcp`,
    status: 'signedIn',
    session: {
      account: `user${i}@example.test`,
      scopes: ['mcp:read', 'mcp:write', 'offline_access'],
      expiresAt: now + (i + 1) * 60_000,
      refreshable: true,
      issuer: `https://as-${i % 10}.example.test`,
      clientId: `client-${i}`,
      registration: 'dcr',
      obtainedAt: now,
    },
    tools: toolList,
  }));
}

/**
 * Everything the rows show, as strings: root, 4 detail rows per server, one row per tool (name, one-line
 * description). The server and tool tooltips (status text, the input schema) are built on hover only.
 */
function allRows(servers: readonly ScaleServer[], now: number): number {
  let rows = 0;
  let chars = 0;
  for (const server of servers) {
    const status = displayStatus(server, now);
    chars +=
      server.name.length +
      serverDescription(server, now).length +
      serverContextValue(server, now).length +
      statusIcon(status).length;
    const session = server.session;
    chars +=
      session.account.length + tokenDescription(session, now).length + (timeLeft(session.expiresAt, now) ?? '').length;
    chars += hostOf(session.issuer).length + registrationText(session.registration).length + hostOf(server.url).length;
    rows += 5;
    for (const tool of server.tools) {
      chars += tool.name.length + oneLine(tool.description).length;
      rows++;
    }
  }
  if (chars === 0) throw new Error('nothing computed');
  return rows;
}

export interface TreeScaleResult {
  readonly servers: number;
  readonly tools: number;
  readonly rows: number;
  readonly repetitions: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

export function runTreeScale(servers = 200, tools = 100, repetitions = 20): TreeScaleResult {
  const now = Date.now();
  const data = scaleData(servers, tools, now);
  allRows(data, now); // warm-up
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < repetitions; i++) {
    const started = performance.now();
    rows = allRows(data, now);
    times.push(performance.now() - started);
  }
  return { servers, tools, rows, repetitions, medianMs: round(median(times)), maxMs: round(Math.max(...times)) };
}
