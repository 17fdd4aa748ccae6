import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { GatewayLimits } from './gatewayLimits';

/**
 * A connection limit that a flood cannot turn against the user. Any local process can connect to the
 * gateway; only the user's MCP client has the key. A connection is "unproven" until one of its requests
 * passed the access check (so it carried the key), and "proven" from then on. Unproven connections have no
 * request in progress (the first one either proves the connection or is refused and closes it), so they are
 * idle or still sending headers, and are the ones to close for room: when there are more than `maxUnproven`
 * of them, or more than `maxConnections` connections in all, the oldest unproven connection is closed. So:
 * - a proven connection (the user's, an SSE stream included) is never closed for room: only the header,
 *   request and keep-alive timeouts end connections otherwise;
 * - a new connection always gets in while any unproven one is open, and with it the user's client, whose
 *   first request proves it within a few milliseconds: it is pushed out only if more than `maxUnproven`
 *   newer connections come in that instant (a flood of 2000 sockets reconnecting as fast as they are closed
 *   did not manage it);
 * - a flood holds at most `maxUnproven` sockets, each until its header timeout.
 * Plain `server.maxConnections` would instead turn every new connection away once the flood filled it.
 */
export class ConnectionGuard {
  /** Oldest first: a Set keeps insertion order. */
  private readonly unproven = new Set<Socket>();
  private readonly proven = new Set<Socket>();
  /** Connections already refused once: closing after that answer. */
  private readonly refused = new WeakSet<Socket>();

  constructor(
    server: Server,
    private readonly limits: Pick<GatewayLimits, 'maxConnections' | 'maxUnproven'>,
    /** Told each time an unproven connection is closed for room. */
    private readonly onEvicted: () => void,
  ) {
    const { unproven, proven } = this;
    // One listener for every socket ('close' is emitted with the socket as `this`), not a closure each.
    const forget = function (this: Socket) {
      if (!unproven.delete(this)) proven.delete(this);
    };
    server.on('connection', (socket: Socket) => {
      socket.on('close', forget);
      this.admit(socket);
    });
  }

  /** `socket` carried a request that passed the access check. On the hot path: no allocation once proven. */
  prove(socket: Socket): void {
    if (this.unproven.delete(socket)) this.proven.add(socket);
  }

  /**
   * Whether this is the first refused request on `socket`, the one to answer (with `Connection: close`) and
   * log. The requests pipelined behind it are dropped unanswered: the connection closes after that answer.
   */
  firstRefusal(socket: Socket): boolean {
    if (this.refused.has(socket)) return false;
    this.refused.add(socket);
    return true;
  }

  private admit(socket: Socket): void {
    this.unproven.add(socket);
    const { maxUnproven, maxConnections } = this.limits;
    if (this.unproven.size <= maxUnproven && this.unproven.size + this.proven.size <= maxConnections) return;
    // Over a limit by this one connection: the oldest unproven makes way (the new one itself when it is the only one).
    const oldest = this.unproven.values().next().value!;
    this.unproven.delete(oldest);
    oldest.destroy();
    this.onEvicted();
  }
}
