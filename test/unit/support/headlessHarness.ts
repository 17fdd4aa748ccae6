// Helpers for the headless end-to-end tests: an injected device-flow clock that never waits in real time,
// an RFC 8628 §3.5 poll-rate limiter in front of the real authorization server, and small loopback servers.
import type http from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { authorizedFetch } from '../../../src/mcp/authorizedFetch';
import { connectMcp } from '../../../src/mcp/mcpConnection';
import type { DeviceClock } from '../../../src/oauth/grants/deviceCode';
import { CancelledError } from '../../../src/oauth/errors';
import type { FetchLike } from '../../../src/oauth/http/policyFetch';
import type { ServerAuth } from '../../../src/oauth/session/serverAuth';
import { listenOnLoopback, type LoopbackServer } from '../../fixtures/loopback';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * A {@link DeviceClock} on virtual time: `sleep(ms)` records `ms`, moves the clock forward by `ms` (or by
 * what `advance` says) and runs `onSleep` (the scripted user acting while the CLI "waits"), then returns
 * at once. Polling still really reaches the authorization server.
 */
export class VirtualClock implements DeviceClock {
  readonly sleeps: number[] = [];
  private time: number;
  constructor(
    private readonly onSleep: (n: number, clock: VirtualClock) => void | Promise<void> = () => undefined,
    start = Date.now(),
  ) {
    this.time = start;
  }

  readonly now = (): number => this.time;

  jump(ms: number): void {
    this.time += ms;
  }

  readonly sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw new CancelledError();
    this.sleeps.push(ms);
    this.time += ms;
    await this.onSleep(this.sleeps.length, this);
    if (signal?.aborted) throw new CancelledError();
  };
}

/**
 * oidc-provider 9 never answers `slow_down` (its SlowDown error exists but no grant raises it), so this
 * enforces RFC 8628 §3.5 in front of it: a device-code poll that comes sooner than `minIntervalMs` after the
 * previous one for the same code (on `clock`) gets `400 slow_down`; every other request goes to the real AS.
 */
export function pollRateLimiter(
  tokenEndpoint: string,
  clock: () => number,
  minIntervalMs: number,
  inner: FetchLike = globalThis.fetch,
) {
  const lastPoll = new Map<string, number>();
  const answered: { slowDown: number; forwarded: number } = { slowDown: 0, forwarded: 0 };
  const fetch: FetchLike = async (input, init = {}) => {
    const url = new URL(String(input));
    if (
      url.href === tokenEndpoint &&
      (init.method ?? 'GET').toUpperCase() === 'POST' &&
      init.body !== undefined &&
      init.body !== null
    ) {
      const form = new URLSearchParams(String(init.body));
      const code = form.get('device_code');
      if (form.get('grant_type') === DEVICE_GRANT && code) {
        const now = clock();
        const last = lastPoll.get(code);
        lastPoll.set(code, now);
        if (last !== undefined && now - last < minIntervalMs) {
          answered.slowDown++;
          return new Response(JSON.stringify({ error: 'slow_down', error_description: 'polling too quickly' }), {
            status: 400,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          });
        }
        answered.forwarded++;
      }
    }
    return inner(input, init);
  };
  return { fetch, answered };
}

/** An MCP client whose requests carry the session's token; no sign-in may happen (a 401 stays a 401). */
export function connectWithTokens(auth: ServerAuth): Promise<Client> {
  return connectMcp(auth.serverUrl, authorizedFetch({ fetch: globalThis.fetch, tokens: auth.tokenManager() }));
}

/** A loopback server with one handler, recording the requests it saw. */
export async function startLoopback(
  handler: http.RequestListener,
): Promise<LoopbackServer & { hits: { method: string; path: string; authorization?: string }[] }> {
  const hits: { method: string; path: string; authorization?: string }[] = [];
  const server = await listenOnLoopback((req, res) => {
    hits.push({
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    handler(req, res);
  });
  return Object.assign(server, { hits });
}
