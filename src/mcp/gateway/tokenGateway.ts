import { Buffer } from 'node:buffer';
import http, {
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { bearerChallenge, type BearerChallenge } from '../../oauth/discovery/challenge';
import { CancelledError, HttpRequestError, McpOAuthError, quote } from '../../oauth/errors';
import { nullLogger, type Logger } from '../../oauth/http/logger';
import { cryptoRandom, randomToken, type RandomBytes } from '../../oauth/http/random';
import { safeQuote } from '../../oauth/http/requestSecrets';
import { scrub, scrubber } from '../../oauth/http/scrub';
import { describeUrl, secureUrl } from '../../oauth/http/url';
import { ConnectionGuard } from './connectionGuard';
import { decoded, MAX_ERROR_BODY_BYTES, readAnswer, readBody } from './gatewayBodies';
import { parseGatewayPath, PATH_PREFIX, upstreamPath } from './gatewayPath';
import { asCredential, type GatewayCredential, type GatewayTokenSource } from './gatewayTokens';
import { GatewayAccess } from './gatewayAccess';
import { gatewayLimits, serverTimeouts, type GatewayLimits } from './gatewayLimits';
import { replyAuthRequired, replyText } from './gatewayReplies';
import { clientResponseHeaders, upstreamRequestHeaders } from './proxyHeaders';
import { ThrottledLog } from './throttledLog';

/** The request header that carries the per-session gateway key. */
export const GATEWAY_KEY_HEADER = 'x-mcp-oauth-gateway-key';

export interface GatewayRoute {
  /** The server's stable id: it names the gateway path and appears in messages and the log. */
  readonly id: string;
  /** The real MCP endpoint: https, or http on loopback. Its origin is the only place the tokens go. */
  readonly upstreamUrl: string;
  readonly tokens: GatewayTokenSource;
}

export interface GatewayRegistration {
  /** `<origin>/servers/<id>/mcp`: what VS Code gets instead of the upstream URL. */
  readonly url: string;
  /** Unregisters the route (unless registered again since) and cuts the requests and streams it carries. */
  dispose(): void;
}

export interface TokenGatewayOptions {
  /**
   * What to do to sign in to a server, as an instruction naming the command (e.g. `run "MCP OAuth: Sign In…"
   * and pick <id>`). Messages read `Sign-in required for <id>: <hint>`.
   */
  readonly signInHint: (routeId: string) => string;
  readonly logger?: Logger;
  /** Randomness for the gateway key. */
  readonly random?: RandomBytes;
  /** Largest request body kept for a retry (default 4 MB); a larger one gets a 413. */
  readonly maxBodyBytes?: number;
  /** Told when a request failed because a sign-in (or more permission) is needed, so the UI can offer one. */
  readonly onSignInRequired?: (routeId: string) => void;
  /** Connection limits and timeouts, over the defaults in gatewayLimits.ts (tests shorten them). */
  readonly limits?: Partial<GatewayLimits>;
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

type RequestFn = (options: http.RequestOptions, callback: (response: IncomingMessage) => void) => ClientRequest;

/** A registered server, with what forwarding needs worked out once. */
interface Route {
  readonly id: string;
  readonly tokens: GatewayTokenSource;
  /** The upstream origin: the only one that ever gets a token. */
  readonly origin: string;
  /** The upstream URL for messages (no query). */
  readonly description: string;
  readonly request: RequestFn;
  readonly agent: http.Agent;
  readonly hostname: string;
  readonly port: number;
  readonly basePath: string;
  /** The upstream URL's own query, without `?`. */
  readonly baseQuery: string;
  /** Step-ups under way, by scope, so concurrent 403s ask the user once. */
  readonly stepUps: Map<string, Promise<boolean>>;
}

/** One client request on its way through the gateway. */
class Exchange {
  upstream: ClientRequest | undefined;
  headers: OutgoingHttpHeaders | undefined;
  closed = false;
  /**
   * The access tokens (and DPoP proofs) sent upstream for this request: no message or relayed error answer
   * repeats them.
   */
  readonly sent: string[] = [];
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: Route,
    readonly method: string,
    readonly started: number,
  ) {}

  cut(): void {
    this.upstream?.destroy();
    this.res.destroy();
  }
}

/**
 * The token gateway. VS Code's MCP client never sees a protected server's URL: it talks to this loopback
 * server, with a per-session key, and the gateway forwards each request with a fresh bearer token. It
 * renews the token on a 401 and asks for step-up on a 403 `insufficient_scope`, then retries once; it
 * never lets a 401 or 403 through, so VS Code never starts its own sign-in. Responses (JSON and SSE)
 * stream back untouched.
 */
export class TokenGateway {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** The per-session key every request must carry in {@link keyHeader}. */
  readonly key: string;
  readonly keyHeader = GATEWAY_KEY_HEADER;
  /** The connection limits and timeouts in force. */
  readonly limits: GatewayLimits;
  private readonly logger: Logger;
  /** Warnings a flood can cause (refused requests, connections closed for room), counted rather than each logged. */
  private readonly warnings: ThrottledLog;
  private readonly guard: ConnectionGuard;
  private readonly access: GatewayAccess;
  private readonly maxBodyBytes: number;
  private readonly routes = new Map<string, Route>();
  /** Requests under way, open SSE streams included: cut when their route or the gateway goes. */
  private readonly live = new Set<Exchange>();
  private readonly httpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo' });
  private closing: Promise<void> | undefined;

  /** Starts a gateway on 127.0.0.1, on an ephemeral port. */
  static async start(options: TokenGatewayOptions): Promise<TokenGateway> {
    const limits = gatewayLimits(options.limits);
    const server = http.createServer({ noDelay: true, ...serverTimeouts(limits) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TokenGateway(server, (server.address() as AddressInfo).port, options, limits);
  }

  private constructor(
    private readonly server: http.Server,
    port: number,
    private readonly options: TokenGatewayOptions,
    limits: GatewayLimits,
  ) {
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
    this.key = randomToken(options.random ?? cryptoRandom);
    this.logger = options.logger ?? nullLogger;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.access = new GatewayAccess(this.key, this.keyHeader, port);
    this.limits = limits;
    this.warnings = new ThrottledLog(this.logger, limits.warningWindowMs);
    this.guard = new ConnectionGuard(server, limits, () =>
      this.warnings.warn('[gateway] closed a connection that never showed the key, to make room for new ones'),
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
    this.logger.info(`[gateway] listening on ${this.origin}`);
  }

  /** The headers a client must send: the gateway key. */
  get requestHeaders(): Record<string, string> {
    return { [this.keyHeader]: this.key };
  }

  /**
   * Serves `route` at `<origin>/servers/<id>/mcp`. Registering an id again (VS Code resolves a server
   * each time it starts it) replaces the route for new requests; those under way finish where they began.
   */
  register(route: GatewayRoute): GatewayRegistration {
    if (this.closing) throw new McpOAuthError('gateway_closed', 'The token gateway is closed; start a new one');
    if (!route.id) throw new McpOAuthError('invalid_config', 'A gateway route needs a non-empty id');
    const compiled = this.compile(route);
    this.routes.set(route.id, compiled);
    this.logger.info(`[gateway] [${route.id}] serving ${compiled.description}`);
    return {
      url: `${this.origin}${PATH_PREFIX}${encodeURIComponent(route.id)}/mcp`,
      dispose: () => {
        if (this.routes.get(route.id) === compiled) this.routes.delete(route.id);
        for (const exchange of this.live) {
          if (exchange.route === compiled) exchange.cut();
        }
      },
    };
  }

  /** Stops listening, ends every connection (SSE streams included) and aborts the upstream requests. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const exchange of this.live) exchange.cut();
      this.routes.clear();
      this.server.closeAllConnections();
      this.httpAgent.destroy();
      this.httpsAgent.destroy();
      this.warnings.flush();
      this.logger.info('[gateway] closed');
    });
    return this.closing;
  }

  private compile(route: GatewayRoute): Route {
    const url = secureUrl(route.upstreamUrl, `upstream URL of ${route.id}`);
    const secure = url.protocol === 'https:';
    return {
      id: route.id,
      tokens: route.tokens,
      origin: url.origin,
      description: describeUrl(url),
      request: secure ? https.request : http.request,
      agent: secure ? this.httpsAgent : this.httpAgent,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port) || (secure ? 443 : 80),
      basePath: url.pathname,
      baseQuery: url.search.slice(1),
      stepUps: new Map(),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const refusal = this.access.check(req);
    if (refusal) {
      req.resume();
      if (!this.guard.firstRefusal(req.socket)) return;
      this.warnings.warn(`[gateway] refused a ${method} request: ${refusal.reason}`);
      replyText(res, refusal.status, refusal.message, { connection: 'close' });
      return;
    }
    this.guard.prove(req.socket);
    const target = parseGatewayPath(req.url ?? '');
    const route = target && this.routes.get(target.id);
    if (!route) {
      req.resume();
      replyText(res, 404, 'Not found: no MCP server is registered at this path of the MCP OAuth gateway.');
      return;
    }
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      req.resume();
      replyText(res, 405, `Method not allowed: the MCP OAuth gateway forwards POST, GET and DELETE.`, {
        allow: 'POST, GET, DELETE',
      });
      return;
    }
    const exchange = new Exchange(req, res, route, method, started);
    this.live.add(exchange);
    res.once('close', () => this.finished(exchange));
    this.forward(exchange, upstreamPath(route, target.remainder, target.query)).catch((error: unknown) =>
      this.failed(exchange, error),
    );
  }

  /** Sends the request upstream with a fresh token; renews, steps up or follows a same-origin redirect, then relays. */
  private async forward(exchange: Exchange, path: string): Promise<void> {
    const { route, method } = exchange;
    const pendingToken = route.tokens.getAccessToken();
    let body: Buffer | undefined;
    if (method === 'POST') {
      pendingToken.catch(() => undefined); // awaited below; not "unhandled" while the body is read
      body = await readBody(exchange.req, this.maxBodyBytes);
    } else {
      exchange.req.resume();
    }
    let credential: GatewayCredential;
    try {
      credential = asCredential(await pendingToken);
    } catch (error) {
      this.authProblem(exchange, body, error);
      return;
    }
    let refreshed = false;
    let steppedUp = false;
    let nonced = false;
    let redirects = 0;
    for (;;) {
      if (exchange.closed) return; // the client left, or the route or the gateway went, while we waited
      const upstream = await this.send(exchange, path, credential, body);
      const status = upstream.statusCode ?? 0;
      const nonce = credential.dpop ? header(upstream.headers['dpop-nonce']) : undefined;
      if (nonce) credential.dpop!.keepNonce(route.origin, nonce); // a server may rotate it on any answer (RFC 9449 §8.2)
      if (status === 401) {
        upstream.resume();
        if (nonce && !nonced && challengeOf(upstream)?.error === 'use_dpop_nonce') {
          nonced = true; // RFC 9449 §9: once more, with the nonce the server just gave
          this.logger.debug(`[gateway] [${route.id}] the server asks for a DPoP nonce; retrying once with it`);
          continue;
        }
        if (refreshed) {
          this.signInRequired(exchange, body, 'the server refused the renewed token');
          return;
        }
        refreshed = true;
        this.logger.info(`[gateway] [${route.id}] the server refused the access token (401); renewing it once`);
        let next: GatewayCredential;
        try {
          next = asCredential(await route.tokens.refresh(credential.accessToken));
        } catch (error) {
          this.authProblem(exchange, body, error);
          return;
        }
        if (next.accessToken === credential.accessToken) {
          this.signInRequired(exchange, body, 'no new token to retry with');
          return;
        }
        credential = next;
        continue;
      }
      if (status === 403) {
        upstream.resume();
        const challenge = challengeOf(upstream);
        if (challenge?.error !== 'insufficient_scope') {
          this.forbidden(exchange, body, challenge);
          return;
        }
        if (steppedUp || !route.tokens.stepUp || !(await this.stepUp(exchange, challenge))) {
          this.needsScope(exchange, body, challenge);
          return;
        }
        steppedUp = true;
        try {
          credential = asCredential(await route.tokens.getAccessToken());
        } catch (error) {
          this.authProblem(exchange, body, error);
          return;
        }
        continue;
      }
      const location = upstream.headers.location;
      if (REDIRECTS.has(status) && location) {
        upstream.resume();
        const next = this.redirect(exchange, path, location, status, redirects++);
        if (next === undefined) return;
        path = next;
        continue;
      }
      this.relay(exchange, upstream);
      return;
    }
  }

  /**
   * One upstream request; a keep-alive socket the server closed meanwhile gets one retry on a new one. A
   * DPoP-bound token goes with a proof made for this very request (its method and upstream URL), each attempt
   * its own.
   */
  private async send(
    exchange: Exchange,
    path: string,
    credential: GatewayCredential,
    body: Buffer | undefined,
  ): Promise<IncomingMessage> {
    const headers = (exchange.headers ??= upstreamRequestHeaders(exchange.req.headers, this.keyHeader));
    const token = credential.accessToken;
    headers.authorization = `${credential.dpop ? 'DPoP' : 'Bearer'} ${token}`;
    if (!exchange.sent.includes(token)) exchange.sent.push(token);
    if (body) headers['content-length'] = body.length;
    const prove = async () => {
      delete headers.dpop; // a proof is for one request only
      if (!credential.dpop) return;
      const proof = await credential.dpop.proof(exchange.method, `${exchange.route.origin}${path}`, token);
      headers.dpop = proof;
      exchange.sent.push(proof);
    };
    await prove();
    try {
      return await this.request(exchange, path, headers, body);
    } catch (error) {
      const stale =
        exchange.upstream?.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET' && !exchange.closed;
      if (!stale) throw unreachable(exchange.route, error);
    }
    await prove();
    try {
      return await this.request(exchange, path, headers, body);
    } catch (error) {
      throw unreachable(exchange.route, error);
    }
  }

  private request(
    exchange: Exchange,
    path: string,
    headers: OutgoingHttpHeaders,
    body: Buffer | undefined,
  ): Promise<IncomingMessage> {
    const { route } = exchange;
    return new Promise((resolve, reject) => {
      const upstream = route.request(
        { hostname: route.hostname, port: route.port, path, method: exchange.method, headers, agent: route.agent },
        resolve,
      );
      exchange.upstream = upstream;
      upstream.on('error', reject);
      if (body) upstream.end(body);
      else upstream.end();
    });
  }

  /**
   * Passes the response through as it arrives. The standalone GET stream's headers go out at once, since it
   * may stay silent for long; a POST's short SSE answer leaves with its first event in one write. Error
   * answers are checked first ({@link relayError}).
   */
  private relay(exchange: Exchange, upstream: IncomingMessage): void {
    if ((upstream.statusCode ?? 502) >= 400) {
      this.relayError(exchange, upstream);
      return;
    }
    const { res } = exchange;
    res.writeHead(upstream.statusCode ?? 502, clientResponseHeaders(upstream.headers));
    if (exchange.method === 'GET' && upstream.headers['content-type']?.startsWith('text/event-stream'))
      res.flushHeaders();
    upstream.on('error', () => res.destroy());
    upstream.once('close', () => {
      if (!upstream.complete) res.destroy(); // cut upstream: cut the client's copy too, rather than end it cleanly
    });
    upstream.pipe(res);
  }

  /**
   * An error answer (4xx, 5xx) is read whole, decoded, cleared of the tokens this request sent (body and
   * headers), and then passed on: VS Code shows such answers, and a server that echoes the bearer token must
   * not put it there. One over 64 KB, or in a content coding the gateway cannot undo, becomes a 502.
   */
  private relayError(exchange: Exchange, upstream: IncomingMessage): void {
    const { res, route } = exchange;
    const status = upstream.statusCode!;
    readAnswer(upstream, MAX_ERROR_BODY_BYTES).then(
      (raw) => {
        const body = raw && decoded(raw, upstream.headers['content-encoding']);
        if (!body) {
          replyText(
            res,
            502,
            `Bad gateway: the MCP server for ${route.id} answered HTTP ${status} with a body the gateway cannot check (over ${MAX_ERROR_BODY_BYTES / 1024} KB, or in an unknown encoding).`,
          );
          return;
        }
        const clean = scrubber(exchange.sent);
        const text = body.toString('utf8');
        const cleaned = clean(text);
        const out = cleaned === text ? body : Buffer.from(cleaned, 'utf8');
        const headers = clientResponseHeaders(upstream.headers);
        delete headers['content-encoding'];
        for (const [name, value] of Object.entries(headers)) {
          if (typeof value === 'string') headers[name] = clean(value);
          else if (Array.isArray(value)) headers[name] = value.map(clean);
        }
        headers['content-length'] = out.length;
        res.writeHead(status, headers);
        res.end(out);
      },
      () => res.destroy(),
    );
  }

  /** The path of a same-origin redirect to follow, or `undefined` once it has answered 502. */
  private redirect(
    exchange: Exchange,
    path: string,
    location: string,
    status: number,
    followed: number,
  ): string | undefined {
    const { route, res } = exchange;
    const next = URL.parse(location, `${route.origin}${path}`);
    if (!next || next.origin !== route.origin) {
      const where = next ? safeQuote(next.origin, exchange.sent) : 'an invalid location';
      this.logger.warn(`[gateway] [${route.id}] the server redirected to another origin (${where}); not followed`);
      replyText(
        res,
        502,
        `Bad gateway: the MCP server for ${route.id} redirected to another origin (${where}). The gateway does not follow it, so the token stays with ${route.origin}.`,
      );
      return undefined;
    }
    if (followed >= MAX_REDIRECTS) {
      replyText(res, 502, `Bad gateway: the MCP server for ${route.id} redirected too many times.`);
      return undefined;
    }
    if (status !== 307 && status !== 308 && exchange.method !== 'GET') {
      replyText(
        res,
        502,
        `Bad gateway: the MCP server for ${route.id} answered a ${exchange.method} with a redirect (HTTP ${status}) that would drop the request body.`,
      );
      return undefined;
    }
    this.logger.debug(`[gateway] [${route.id}] following a same-origin redirect (HTTP ${status})`);
    return `${next.pathname}${next.search}`;
  }

  /** Step-ups by scope: concurrent requests that hit the same 403 ask the user once. */
  private async stepUp(exchange: Exchange, challenge: BearerChallenge): Promise<boolean> {
    const { route } = exchange;
    const scope = (challenge.scopes ?? []).join(' ');
    let pending = route.stepUps.get(scope);
    if (!pending) {
      this.logger.info(
        `[gateway] [${route.id}] the server asks for more scope (${safeQuote(scope, exchange.sent)}); asking for step-up`,
      );
      pending = route.tokens.stepUp!(challenge).finally(() => route.stepUps.delete(scope));
      route.stepUps.set(scope, pending);
    }
    try {
      return await pending;
    } catch (error) {
      if (!(error instanceof CancelledError)) {
        this.logger.warn(`[gateway] [${route.id}] step-up failed: ${scrub(describeError(error), exchange.sent)}`);
      }
      return false;
    }
  }

  private signInRequired(exchange: Exchange, body: Buffer | undefined, why: string): void {
    const { id } = exchange.route;
    this.logger.info(`[gateway] [${id}] sign-in required (${scrub(why, exchange.sent)})`);
    this.options.onSignInRequired?.(id);
    this.replyAuth(exchange, body, `Sign-in required for ${id}: ${this.options.signInHint(id)}`);
  }

  private needsScope(exchange: Exchange, body: Buffer | undefined, challenge: BearerChallenge): void {
    const { id } = exchange.route;
    const scope = challenge.scopes?.length ? ` (scope ${safeQuote(challenge.scopes.join(' '), exchange.sent)})` : '';
    this.logger.info(`[gateway] [${id}] more permission needed${scope} and not granted`);
    this.options.onSignInRequired?.(id);
    this.replyAuth(
      exchange,
      body,
      `${id} needs more permission for this request${scope}, and it was not granted. To grant it: ${this.options.signInHint(id)}`,
    );
  }

  private forbidden(exchange: Exchange, body: Buffer | undefined, challenge: BearerChallenge | undefined): void {
    const { id } = exchange.route;
    const error = challenge?.error ? `, ${safeQuote(challenge.error, exchange.sent, 40)}` : '';
    this.logger.info(`[gateway] [${id}] the server refused the request (403${error})`);
    this.replyAuth(
      exchange,
      body,
      `${id} refused the request (HTTP 403${error}): the signed-in account may lack access. To use another account: ${this.options.signInHint(id)}`,
    );
  }

  /** The token source failed: a needed sign-in, or a renewal that could not happen (the AS is down, …). */
  private authProblem(exchange: Exchange, body: Buffer | undefined, error: unknown): void {
    if (error instanceof McpOAuthError && error.code === 'not_signed_in') {
      this.signInRequired(exchange, body, error.message);
      return;
    }
    const { id } = exchange.route;
    this.logger.warn(`[gateway] [${id}] no access token: ${scrub(describeError(error), exchange.sent)}`);
    const reason = error instanceof McpOAuthError ? error.message : 'an unexpected error (see the MCP OAuth log)';
    this.replyAuth(
      exchange,
      body,
      `Could not get an access token for ${id}: ${reason}. If this persists: ${this.options.signInHint(id)}`,
    );
  }

  /**
   * The JSON-RPC error (or 503) for a request that needs a sign-in or more permission. Its text may carry the
   * token source's message, built from what the authorization server said: it leaves without the tokens sent.
   */
  private replyAuth(exchange: Exchange, body: Buffer | undefined, message: string): void {
    replyAuthRequired(exchange.res, exchange.method, body, scrub(message, exchange.sent));
  }

  private failed(exchange: Exchange, error: unknown): void {
    if (exchange.closed) return;
    const { route, res } = exchange;
    if (error instanceof McpOAuthError && error.code === 'request_too_large') {
      replyText(res, 413, error.message, { connection: 'close' });
    } else if (error instanceof CancelledError) {
      res.destroy();
    } else if (error instanceof HttpRequestError) {
      this.logger.warn(`[gateway] [${route.id}] ${error.message}`);
      replyText(res, 502, error.message);
    } else {
      this.logger.error(`[gateway] [${route.id}] ${describeError(error)}`);
      replyText(res, 500, `The MCP OAuth gateway failed on a request for ${route.id}; see the MCP OAuth log.`);
    }
  }

  private finished(exchange: Exchange): void {
    exchange.closed = true;
    const { res, route } = exchange;
    this.live.delete(exchange);
    const complete = res.writableFinished;
    if (!complete) exchange.upstream?.destroy(); // the client left: stop the upstream request or stream
    const status = res.headersSent ? String(res.statusCode) : 'no answer';
    this.logger.debug(
      `[gateway] [${route.id}] ${exchange.method} ${status}${complete ? '' : ' (closed early)'} in ${(performance.now() - exchange.started).toFixed(1)} ms`,
    );
  }
}

/** What a token source handed out, as the gateway presents it (a string is a bearer token). */
/** One header's value (the first, when repeated). */
function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The Bearer or DPoP challenge of an upstream answer (RFC 9449 §7.1: both parse alike). */
function challengeOf(upstream: IncomingMessage): BearerChallenge | undefined {
  const value = upstream.headers['www-authenticate'];
  return value ? bearerChallenge(new Headers([['www-authenticate', value]])) : undefined;
}

function unreachable(route: Route, error: unknown): HttpRequestError {
  const code = (error as NodeJS.ErrnoException).code ?? 'network error';
  return new HttpRequestError(
    'network_error',
    `Bad gateway: could not reach the MCP server for ${route.id} at ${route.description} (${code}). Check that it is running and reachable.`,
    { cause: error },
  );
}

function describeError(error: unknown): string {
  if (error instanceof McpOAuthError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${quote(error.message)}` : 'unknown error';
}
