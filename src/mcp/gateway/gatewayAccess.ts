import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Why a request was turned away: the status and plain-text message it gets, and a reason for the log. */
export interface Refusal {
  readonly status: 403 | 421;
  readonly message: string;
  readonly reason: string;
}

const WEB_PAGE: Refusal = {
  status: 403,
  message:
    'Forbidden: requests from web pages are refused. This MCP OAuth gateway serves only the MCP client of VS Code.',
  reason: 'an Origin header (a browser)',
};

const NO_KEY: Refusal = {
  status: 403,
  message: 'Forbidden: the gateway key is missing or wrong.',
  reason: 'a missing or wrong gateway key',
};

/**
 * Who may use the gateway: a request addressed to the loopback host and port it listens on (a page that
 * rebinds its DNS name to 127.0.0.1 still sends its own name), without an `Origin` (browsers send one;
 * Node's fetch, which VS Code's MCP client uses, does not), and carrying this session's random key.
 */
export class GatewayAccess {
  private readonly hosts: ReadonlySet<string>;
  private readonly key: Buffer;
  private readonly misdirected: Refusal;

  constructor(
    key: string,
    private readonly keyHeader: string,
    port: number,
  ) {
    this.key = Buffer.from(key, 'utf8');
    this.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
    this.misdirected = {
      status: 421,
      message: `Misdirected request: this MCP OAuth gateway answers only requests addressed to 127.0.0.1:${port}.`,
      reason: 'a foreign Host header',
    };
  }

  /** `undefined` when the request may go on; otherwise how to refuse it. Never a 401, which would start VS Code's own sign-in. */
  check(req: IncomingMessage): Refusal | undefined {
    const { headers } = req;
    const host = headers.host;
    if (host === undefined || !this.hosts.has(host.toLowerCase())) return this.misdirected;
    if (headers.origin !== undefined) return WEB_PAGE;
    if (!this.keyMatches(headers[this.keyHeader])) return NO_KEY;
    return undefined;
  }

  /** Constant-time comparison; a repeated header arrives joined with ", " and so never matches. */
  private keyMatches(value: string | string[] | undefined): boolean {
    if (typeof value !== 'string') return false;
    const given = Buffer.from(value, 'utf8');
    return given.length === this.key.length && timingSafeEqual(given, this.key);
  }
}
