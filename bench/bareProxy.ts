// The floor for any loopback HTTP proxy: a bare pass-through (no key check, no token source, no body
// buffering, no header filtering) that adds the bearer token and pipes both ways, with a keep-alive agent,
// like the gateway. The gateway's overhead above this one is what its own logic costs; the rest is the hop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BareProxy {
  readonly url: string;
  close(): Promise<void>;
}

export async function startBareProxy(upstreamUrl: string, token: string): Promise<BareProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const server = http.createServer({ noDelay: true }, (req, res) => {
    const headers = { ...req.headers, host: upstream.host, authorization: `Bearer ${token}` };
    const forward = http.request(
      { hostname: upstream.hostname, port: upstream.port, path: upstream.pathname, method: req.method, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
