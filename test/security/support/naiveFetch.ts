// What a transport without the guard does, on the attack network: it asks the DNS when it connects (every
// connection, as the system resolver would), trusts the test CA, and goes wherever the URL says. It is the
// `fetch` of the attacks' HTTP policy, so that without the defence the attacks really reach the internal
// services, as they would on a real network with a real CA.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { TestDns } from './attackNetwork';

export function naiveFetch(dns: TestDns, ca: string): (input: string | URL, init?: RequestInit) => Promise<Response> {
  const lookup: LookupFunction = (hostname, options, callback) => {
    dns.resolve(hostname).then(
      (addresses) =>
        options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family),
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
  return async (input, init = {}) => {
    const url = new URL(String(input));
    const request = new Request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body ?? null });
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<Response>((resolve, reject) => {
      const req = send(url, {
        method: request.method,
        headers,
        lookup,
        ca,
        agent: false,
        signal: init.signal ?? undefined,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const empty = status === 204 || status === 304;
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
            responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
        });
      });
      req.end(body);
    });
  };
}
