// "Another local user": raw TCP connections to the gateway's port that never carry the key, idle, slow
// (slowloris) or pipelining refused requests, each recorded with when it opened and closed and what came back.
import net from 'node:net';

export interface FloodSocket {
  readonly socket: net.Socket;
  /** `performance.now()` when the connection was established. */
  opened: number;
  /** `performance.now()` when it closed; `undefined` while open. */
  closed: number | undefined;
  /** Everything the gateway sent on it. */
  received: string;
}

/** Connections opened by the attacker, all tracked until they close. */
export class LocalFlood {
  readonly sockets: FloodSocket[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly port: number) {}

  /** How many of the attacker's connections are still open. */
  get open(): number {
    return this.sockets.filter((s) => s.closed === undefined).length;
  }

  /** Opens `count` connections that send nothing; resolves once each is established (or already closed). */
  idle(count: number): Promise<FloodSocket[]> {
    return Promise.all(Array.from({ length: count }, () => this.connect()));
  }

  /**
   * Opens `count` connections that send `header` one byte every `everyMs` (slowloris): the headers never end
   * before the bytes run out, and the connection is never quiet for long.
   */
  async slowloris(count: number, header: string, everyMs: number): Promise<FloodSocket[]> {
    const opened = await this.idle(count);
    for (const entry of opened) {
      entry.socket.write(header[0]!);
      let sent = 1;
      const timer = setInterval(() => {
        if (entry.closed !== undefined || sent >= header.length) {
          clearInterval(timer);
          this.timers.delete(timer);
          return;
        }
        entry.socket.write(header[sent++]!);
      }, everyMs);
      this.timers.add(timer);
    }
    return opened;
  }

  /**
   * Keeps `parallel` connections open until `stop()`, a new one replacing each as soon as the gateway closes
   * it; each sends `batch` (pipelined requests, say) in one write as soon as it connects, or nothing.
   * `stop()` closes them and resolves with how many connections were made.
   */
  reconnecting(parallel: number, batch = ''): { stop: () => Promise<number> } {
    let stopped = false;
    let made = 0;
    const loops = Array.from({ length: parallel }, async () => {
      while (!stopped) {
        const entry = await this.connect();
        made++;
        if (batch && entry.closed === undefined) entry.socket.write(batch);
        await this.closed(entry);
      }
    });
    return {
      stop: async () => {
        stopped = true;
        for (const { socket } of this.sockets) socket.destroy();
        await Promise.all(loops);
        return made;
      },
    };
  }

  /** Resolves when `entry` has closed. */
  closed(entry: FloodSocket): Promise<void> {
    if (entry.closed !== undefined) return Promise.resolve();
    return new Promise((resolve) => entry.socket.once('close', () => resolve()));
  }

  /** Ends every connection and timer the attacker still has. */
  destroy(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    for (const { socket } of this.sockets) socket.destroy();
  }

  private connect(): Promise<FloodSocket> {
    const socket = net.connect(this.port, '127.0.0.1');
    const entry: FloodSocket = { socket, opened: performance.now(), closed: undefined, received: '' };
    this.sockets.push(entry);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (entry.received += chunk));
    socket.on('error', () => undefined); // a reset is how an evicted connection ends
    socket.on('close', () => (entry.closed = performance.now()));
    return new Promise((resolve) => {
      socket.once('connect', () => {
        entry.opened = performance.now();
        resolve(entry);
      });
      socket.once('close', () => resolve(entry));
    });
  }
}
