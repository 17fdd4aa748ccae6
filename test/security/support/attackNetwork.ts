// A small internet on this machine for the server-side request forgery attacks: a malicious MCP server on
// a documentation-range address that is not loopback, internal services on loopback, a private and a
// link-local address that record every connection, https from a certificate made for the test, and a DNS
// that answers what each attack needs (and can change its answer between two questions).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the malicious MCP server (and the public authorization servers it names) listen. */
export const PUBLIC_IP = '203.0.113.10';
/** The internal services: loopback (v4 and v6), a private and a link-local address. */
export const INTERNAL_IPS = ['127.0.0.1', '::1', '10.255.77.10', '169.254.77.10'] as const;
/** Addresses this file adds to the loopback interface, and removes again. */
const ADDED = [PUBLIC_IP, '10.255.77.10', '169.254.77.10'];

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

export interface Hit {
  /** `address:port` of the service that saw it. */
  readonly at: string;
  /** `connection`, or the method and path of a request. */
  readonly what: string;
}

/** A set of servers answering scripted paths (any unrouted path is a JSON 404), recording what reached them. */
export interface Services {
  readonly hits: Hit[];
  route(path: string, handler: Handler): void;
  reset(): void;
}

export interface TestDns {
  /** Host names asked, in order. */
  readonly asked: string[];
  /** `name` answers `answers[0]` the first time, `answers[1]` the second … and the last one from then on. */
  set(name: string, ...answers: (readonly string[])[]): void;
  resolve(hostname: string): Promise<{ address: string; family: number }[]>;
  reset(): void;
}

export interface AttackNetwork {
  /** The test CA's certificate (PEM), the only one the client trusts. */
  readonly ca: string;
  /** The https port of the malicious server and of every internal service (so one name can move between them). */
  readonly port: number;
  /** The plain http port of the internal service on 127.0.0.1 and [::1]. */
  readonly httpPort: number;
  /** A port on PUBLIC_IP where nothing listens. */
  readonly closedPort: number;
  /** A port on PUBLIC_IP that accepts and answers an SSH banner, not HTTP. */
  readonly bannerPort: number;
  readonly attacker: Services;
  readonly internal: Services;
  readonly dns: TestDns;
  close(): Promise<void>;
}

/** The machine does not let the test add its addresses (a container without NET_ADMIN, say). */
export class AttackNetworkUnavailable extends Error {}

/** Why the attack network cannot be set up here, or undefined when it can. */
export function attackNetworkUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (ip addr), this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root, to add a non-loopback address to the loopback interface';
  for (const [tool, ...args] of [
    ['ip', '-V'],
    ['openssl', 'version'],
  ] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      return `needs ${tool}, which is not installed or does not run`;
    }
  }
  return undefined;
}

export async function startAttackNetwork(): Promise<AttackNetwork> {
  const added: string[] = [];
  const open: { close(): Promise<void> }[] = [];
  try {
    for (const ip of ADDED) {
      try {
        execFileSync('ip', ['addr', 'replace', `${ip}/32`, 'dev', 'lo'], { stdio: 'pipe' });
      } catch (error) {
        const why = String((error as { stderr?: Buffer }).stderr ?? error).trim();
        throw new AttackNetworkUnavailable(`cannot add ${ip} to the loopback interface (${why})`);
      }
      added.push(ip);
    }
    const tls = makeCertificate();
    const attacker = services();
    const internal = services();
    const { port, servers } = await listenOnOnePort([PUBLIC_IP, ...INTERNAL_IPS], (ip) =>
      ip === PUBLIC_IP ? https.createServer(tls, attacker.handler) : https.createServer(tls, internal.handler),
    );
    open.push(...servers);
    internal.watch(servers.slice(1));
    const plain = await listenOnOnePort(['127.0.0.1', '::1'], () => http.createServer(internal.handler));
    open.push(...plain.servers);
    internal.watch(plain.servers);
    const closedPort = await freePort(PUBLIC_IP);
    const banner = await listen(
      net.createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n')),
      PUBLIC_IP,
      0,
    );
    open.push(banner);
    return {
      ca: tls.ca,
      port,
      httpPort: plain.port,
      closedPort,
      bannerPort: banner.port,
      attacker,
      internal,
      dns: testDns(),
      async close() {
        await closeAll(open);
        removeAddresses(added);
      },
    };
  } catch (error) {
    await closeAll(open);
    removeAddresses(added);
    throw error;
  }
}

function removeAddresses(ips: readonly string[]): void {
  for (const ip of ips) execFileSync('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo'], { stdio: 'ignore' });
}

async function closeAll(servers: readonly { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(servers.map((s) => s.close()));
}

/** A CA and a leaf for every name and address the attacks use, made with openssl and kept in memory only. */
function makeCertificate(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ssrf-tls-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ssrf test CA');
    run('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=attacker.test');
    const names = ['DNS:*.attacker.test', 'DNS:localhost', ...[PUBLIC_IP, ...INTERNAL_IPS].map((ip) => `IP:${ip}`)];
    writeFileSync(
      join(dir, 'leaf.ext'),
      `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    run(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.pem',
    );
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    return { ca: read('ca.pem'), key: read('leaf.key'), cert: read('leaf.pem') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function services(): Services & {
  handler: http.RequestListener;
  watch(servers: readonly Listening[]): void;
} {
  const routes = new Map<string, Handler>();
  const hits: Hit[] = [];
  const at = (socket: net.Socket) => `${socket.localAddress}:${socket.localPort}`;
  return {
    hits,
    route(path, handler) {
      routes.set(path, handler);
    },
    reset() {
      routes.clear();
      hits.length = 0;
    },
    handler(req, res) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        hits.push({ at: at(req.socket), what: `${req.method} ${path}` });
        const handler = routes.get(path);
        if (handler) handler(req, res, Buffer.concat(chunks).toString('utf8'));
        else json(404, { error: 'not_found' })(req, res, '');
      });
    },
    watch(servers) {
      for (const { server } of servers)
        server.on('connection', (socket: net.Socket) => hits.push({ at: at(socket), what: 'connection' }));
    },
  };
}

export function json(status: number, body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

function testDns(): TestDns {
  const answers = new Map<string, (readonly string[])[]>();
  const asked: string[] = [];
  return {
    asked,
    set(name, ...list) {
      answers.set(name, [...list]);
    },
    async resolve(hostname) {
      asked.push(hostname);
      const queue = answers.get(hostname);
      if (!queue?.length) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      const answer = queue.length > 1 ? queue.shift()! : queue[0]!;
      return answer.map((address) => ({ address, family: net.isIP(address) }));
    },
    reset() {
      answers.clear();
      asked.length = 0;
    },
  };
}

interface Listening {
  readonly server: net.Server;
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: net.Server, host: string, port: number): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** One server per address, all on the same port (picked on the first address, tried again if taken). */
async function listenOnOnePort(
  hosts: readonly string[],
  create: (host: string) => net.Server,
): Promise<{ port: number; servers: Listening[] }> {
  for (let attempt = 0; ; attempt++) {
    const servers: Listening[] = [await listen(create(hosts[0]!), hosts[0]!, 0)];
    try {
      for (const host of hosts.slice(1)) servers.push(await listen(create(host), host, servers[0]!.port));
      return { port: servers[0]!.port, servers };
    } catch (error) {
      await closeAll(servers);
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

async function freePort(host: string): Promise<number> {
  const probe = await listen(net.createServer(), host, 0);
  await probe.close();
  return probe.port;
}
