import assert from 'node:assert/strict';
import { discover } from '../../src/oauth/discovery/discover';
import { systemResolver, type Resolver } from '../../src/oauth/http/guardedFetch';
import { defaultHttpPolicy, policyFetch, type FetchLike, type HttpPolicy } from '../../src/oauth/http/policyFetch';
import { serverHttpPolicy } from '../../src/oauth/http/serverPolicy';
import { json, rejectsWithCode, startHostileServer, type HostileServer } from './support/hostileServer';

/**
 * The rules of serverHttpPolicy that need no address but loopback (security property 6; the attacks from a
 * server that is not on loopback are in test/security/ssrf.test.ts): which policies stay as they are, the
 * settings' origins, the lookup of the server's own name; and the same-origin rule for the challenge's
 * resource_metadata.
 */
describe('serverHttpPolicy (the SSRF bound of one MCP server)', () => {
  let server: HostileServer;
  let other: HostileServer;
  let asked: string[];
  let sent: string[];
  let answers: Record<string, string>;

  const resolve: Resolver = async (name) => {
    asked.push(name);
    const address = answers[name];
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  /** A policy whose own transport records what it was asked and goes to the network as fetch would. */
  const guarded = (): HttpPolicy => ({
    fetch: (input, init) => {
      sent.push(String(input));
      return globalThis.fetch(input, init);
    },
    timeoutMs: 5000,
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 3,
    addressGuard: { resolve },
  });
  const fetchFor = (serverUrl: string, trusted?: readonly string[]): FetchLike =>
    policyFetch(serverHttpPolicy(guarded(), serverUrl, trusted));

  before(async () => {
    server = await startHostileServer();
    other = await startHostileServer();
  });
  after(async () => {
    await other.close();
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    other.reset();
    asked = [];
    sent = [];
    answers = {};
  });

  it('defaultHttpPolicy() guards the transport it picks; given a transport, it keeps it unguarded', () => {
    assert.equal(defaultHttpPolicy().addressGuard?.resolve, systemResolver);
    assert.equal(defaultHttpPolicy().fetch, globalThis.fetch);
    const own: FetchLike = (input, init) => globalThis.fetch(input, init);
    const policy = defaultHttpPolicy(own);
    assert.equal(policy.fetch, own);
    assert.equal(policy.addressGuard, undefined);
    assert.equal(serverHttpPolicy(policy, 'https://mcp.example.com/mcp'), policy, 'no guard: the test keeps control');
  });

  for (const url of ['http://127.0.0.1:3000/mcp', 'http://localhost:3000/mcp', 'http://[::1]:3000/mcp']) {
    it(`leaves the policy as it is for a server on loopback: ${url}`, () => {
      const policy = guarded();
      assert.equal(serverHttpPolicy(policy, url), policy);
      assert.deepEqual(asked, []);
    });
  }

  it("uses the policy's own transport for everything when the server's name resolves to loopback", async () => {
    answers['dev.test'] = '127.0.0.1';
    server.route('/a', json(200, {}));
    other.route('/b', json(200, {}));
    const fetch = fetchFor('https://dev.test/mcp');
    await fetch(`${server.origin}/a`);
    await fetch(`${other.origin}/b`);
    assert.deepEqual(sent, [`${server.origin}/a`, `${other.origin}/b`]);
    assert.deepEqual(asked, ['dev.test'], "the server's name is looked up once");
  });

  it("looks the server's name up again after a failure, which is reported as the network error it is", async () => {
    const policy = serverHttpPolicy(guarded(), 'https://flaky.test/mcp');
    const error = await rejectsWithCode(policyFetch(policy)(`${server.origin}/a`), 'network_error');
    assert.match(error.message, /ENOTFOUND flaky\.test/);
    answers['flaky.test'] = '127.0.0.1';
    server.route('/a', json(200, {}));
    assert.equal((await policyFetch(policy)(`${server.origin}/a`)).status, 200);
    assert.deepEqual(asked, ['flaky.test', 'flaky.test']);
  });

  it('for a public server, reaches the exact origins the settings name and refuses what else is internal', async () => {
    answers['mcp.example.test'] = '203.0.113.99';
    server.route('/prm', json(200, { ok: true }));
    const fetch = fetchFor('https://mcp.example.test/mcp', [`${server.origin}/prm`]);
    assert.deepEqual(await (await fetch(`${server.origin}/prm`)).json(), { ok: true }, 'the configured origin');
    const sameHostOtherPort = await rejectsWithCode(fetch(`${other.origin}/x`), 'blocked_address');
    assert.match(sameHostOtherPort.message, /named by the server's metadata/);
    assert.equal(other.requests.length, 0, 'nothing reached the origin the settings do not name');
    assert.deepEqual(sent, [], "the policy's own transport is not used for a server that is not on loopback");
  });

  it('for a private server, refuses loopback', async () => {
    answers['corp.test'] = '10.1.2.3';
    await rejectsWithCode(fetchFor('https://corp.test/mcp')(`${server.origin}/x`), 'blocked_address');
    assert.equal(server.requests.length, 0);
  });

  describe("the challenge's resource_metadata", () => {
    const metadataFor = (mcpUrl: string, issuer: string) =>
      json(200, { resource: mcpUrl, authorization_servers: [issuer] });
    const authServer = (issuer: string) =>
      json(200, { issuer, token_endpoint: `${issuer}/token`, code_challenge_methods_supported: ['S256'] });
    const fetch = () => policyFetch(guarded());

    it("is used when it is on the server's origin", async () => {
      const mcpUrl = `${server.origin}/mcp`;
      server.route('/custom/prm', metadataFor(mcpUrl, server.origin));
      server.route('/.well-known/oauth-authorization-server', authServer(server.origin));
      const found = await discover(fetch(), mcpUrl, {}, { resourceMetadataUrl: `${server.origin}/custom/prm` });
      assert.equal(found.resourceMetadata?.source, `${server.origin}/custom/prm`);
    });

    it('is refused on another origin, before anything is fetched, unless auth.resourceMetadataUrl names it', async () => {
      const mcpUrl = `${server.origin}/mcp`;
      const elsewhere = `${other.origin}/prm`;
      other.route('/prm', metadataFor(mcpUrl, other.origin));
      other.route('/.well-known/oauth-authorization-server', authServer(other.origin));
      const error = await rejectsWithCode(
        discover(fetch(), mcpUrl, {}, { resourceMetadataUrl: elsewhere }),
        'invalid_challenge',
      );
      assert.match(error.message, /set auth\.resourceMetadataUrl/);
      assert.equal(other.requests.length + server.requests.length, 0);

      const found = await discover(
        fetch(),
        mcpUrl,
        { resourceMetadataUrl: elsewhere },
        { resourceMetadataUrl: elsewhere },
      );
      assert.equal(found.resourceMetadata?.source, elsewhere, 'the setting names it');
    });
  });
});
