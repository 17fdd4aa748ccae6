// Security property 6: when the MCP server is not on loopback, nothing it or its metadata names may make the
// client fetch a loopback, private or link-local address (checked after DNS resolution, every hop), the
// challenge's resource_metadata must be on the server's origin, and the errors cannot be used to scan ports.
//
// The malicious MCP server listens on 203.0.113.10, added to the loopback interface for the test, with https
// from a CA made for the test; internal services on 127.0.0.1, ::1, a private and a link-local address
// record every connection. The HTTP policy's own transport (naiveFetch) goes wherever it is told, as a
// transport without the guard would: every attack here reaches an internal service without the defence.
import assert from 'node:assert/strict';
import { bearerChallenge } from '../../src/oauth/discovery/challenge';
import type { McpOAuthError } from '../../src/oauth/errors';
import { defaultHttpPolicy } from '../../src/oauth/http/policyFetch';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import type { AuthEnvironment } from '../../src/oauth/session/environment';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { coreEnvironment, deviceSignIn, machineSignIn, ScriptedUser } from '../unit/support/coreHarness';
import { rejectsWithCode } from '../unit/support/hostileServer';
import {
  AttackNetworkUnavailable,
  attackNetworkUnavailable,
  json,
  PUBLIC_IP,
  startAttackNetwork,
  type AttackNetwork,
  type Handler,
} from './support/attackNetwork';
import { naiveFetch } from './support/naiveFetch';

const SECRET = 'ssrf-client-secret-5d2a';

describe('security property 6: no server-side request forgery from remote metadata', function () {
  let net: AttackNetwork;
  let serverUrl: string;

  before(async function () {
    const skip = (reason: string) => {
      console.log(`      skipping the server-side request forgery attacks: ${reason}`);
      this.skip();
    };
    const reason = attackNetworkUnavailable();
    if (reason) skip(reason);
    try {
      net = await startAttackNetwork();
    } catch (error) {
      if (error instanceof AttackNetworkUnavailable) skip(error.message);
      throw error;
    }
    serverUrl = `https://mcp.attacker.test:${net.port}/mcp`;
  });
  after(async () => {
    await net?.close();
  });
  beforeEach(() => {
    net.attacker.reset();
    net.internal.reset();
    net.dns.reset();
    net.dns.set('mcp.attacker.test', [PUBLIC_IP]);
    net.dns.set('as.attacker.test', [PUBLIC_IP]);
    net.dns.set('localhost', ['127.0.0.1']);
    net.dns.set('internal.attacker.test', ['127.0.0.1']);
    net.dns.set('internal6.attacker.test', ['::1']);
    net.dns.set('intranet.attacker.test', ['10.255.77.10']);
    net.dns.set('linklocal.attacker.test', ['169.254.77.10']);
    net.dns.set('mixed.attacker.test', [PUBLIC_IP, '127.0.0.1']);
    net.attacker.route('/.well-known/oauth-authorization-server', authServerMetadata());
    net.attacker.route('/token', json(200, { access_token: 'at-ssrf', token_type: 'Bearer', expires_in: 300 }));
  });

  function environment(): AuthEnvironment {
    return {
      ...coreEnvironment({ credentials: { clientSecret: SECRET } }),
      http: {
        ...defaultHttpPolicy(),
        timeoutMs: 5000,
        fetch: naiveFetch(net.dns, net.ca),
        addressGuard: { resolve: net.dns.resolve, ca: net.ca },
      },
    };
  }
  const session = (options: AuthOptions = {}, url = serverUrl) => new ServerAuth(environment(), url, options);
  const clientCredentials: AuthOptions = { clientId: 'ssrf-client', tokenEndpointAuthMethod: 'client_secret_post' };

  /** The attacker's resource metadata, naming `authorizationServer`. */
  function namesAuthorizationServer(authorizationServer: string, url = serverUrl): void {
    net.attacker.route(
      new URL(`/.well-known/oauth-protected-resource${new URL(url).pathname}`, url).pathname,
      json(200, { resource: url, authorization_servers: [authorizationServer] }),
    );
  }

  /** RFC 8414 metadata for whichever name the request came in on, with `endpoints` over the defaults. */
  function authServerMetadata(endpoints: Record<string, string> = {}): Handler {
    return (req, res) => {
      const issuer = `https://${req.headers.host}`;
      json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        registration_endpoint: `${issuer}/register`,
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        ...endpoints,
      })(req, res, '');
    };
  }

  function assertNothingInternalReached(): void {
    assert.deepEqual(net.internal.hits, [], 'an internal service was reached');
  }

  /** The message says nothing of where the name led: no port, no address, no errno. */
  function assertSaysNothingOfTheTarget(error: McpOAuthError, named: string): void {
    const host = new URL(named).hostname.replace(/^\[|\]$/g, '');
    const addresses = ['127.0.0.1', '::1', '10.255.77.10', '169.254.77.10', PUBLIC_IP].filter((a) => a !== host);
    for (const detail of [String(net.port), String(net.httpPort), ...addresses, 'ECONN', 'EHOST']) {
      assert.ok(!error.message.includes(detail), `the message reveals ${detail}: ${error.message}`);
    }
  }

  describe("the challenge's resource_metadata", () => {
    for (const target of ['http://127.0.0.1:{http}/prm', 'https://internal.attacker.test:{https}/prm']) {
      it(`is refused when it names another origin: ${target}`, async () => {
        const url = target.replace('{http}', String(net.httpPort)).replace('{https}', String(net.port));
        net.attacker.route('/mcp', (_req, res) => {
          res.writeHead(401, { 'www-authenticate': `Bearer error="invalid_token", resource_metadata="${url}"` }).end();
        });
        const answer = await naiveFetch(net.dns, net.ca)(serverUrl, { method: 'POST' });
        const challenge = bearerChallenge(answer.headers);
        assert.equal(challenge?.resourceMetadataUrl, url, 'the server really sent it');
        await rejectsWithCode(session().discover(challenge), 'invalid_challenge');
        assertNothingInternalReached();
      });
    }
  });

  describe('an authorization server named by the resource metadata', () => {
    const targets = [
      ['loopback over http', 'http://127.0.0.1:{http}'],
      ['loopback over http, by the name localhost', 'http://localhost:{http}'],
      ['loopback over https', 'https://127.0.0.1:{https}'],
      ['IPv6 loopback', 'https://[::1]:{https}'],
      ['a private address', 'https://10.255.77.10:{https}'],
      ['a link-local address', 'https://169.254.77.10:{https}'],
      ['a name resolving to loopback', 'https://internal.attacker.test:{https}'],
      ['a name resolving to IPv6 loopback', 'https://internal6.attacker.test:{https}'],
      ['a name resolving to a private address', 'https://intranet.attacker.test:{https}'],
      ['a name resolving to a link-local address', 'https://linklocal.attacker.test:{https}'],
      ['a name resolving to a public and a loopback address', 'https://mixed.attacker.test:{https}'],
    ];
    for (const [what, target] of targets) {
      it(`is refused before any connection: ${what} (${target})`, async () => {
        const url = target!.replace('{http}', String(net.httpPort)).replace('{https}', String(net.port));
        namesAuthorizationServer(url);
        assertSaysNothingOfTheTarget(await rejectsWithCode(session().discover(), 'blocked_address'), url);
        assertNothingInternalReached();
      });
    }
  });

  describe("endpoints named by a public authorization server's metadata", () => {
    beforeEach(() => namesAuthorizationServer(`https://as.attacker.test:${net.port}`));
    /** A user whose browser must never be reached: the registration fails first. */
    class NoBrowser extends ScriptedUser {
      override async openBrowser(): Promise<void> {
        throw new Error('the browser must not be reached');
      }
    }
    const noBrowser = new NoBrowser('http://127.0.0.1:1/callback');

    it('a registration endpoint on loopback (http) is refused', async () => {
      const endpoint = `http://127.0.0.1:${net.httpPort}/register`;
      net.attacker.route(
        '/.well-known/oauth-authorization-server',
        authServerMetadata({ registration_endpoint: endpoint }),
      );
      const auth = session();
      await auth.discover(); // the public authorization server itself is fine
      assertSaysNothingOfTheTarget(await rejectsWithCode(auth.signIn(noBrowser), 'blocked_address'), endpoint);
      assertNothingInternalReached();
    });

    it('a token endpoint resolving to loopback is refused, and the client secret goes nowhere', async () => {
      const endpoint = `https://internal.attacker.test:${net.port}/token`;
      net.attacker.route('/.well-known/oauth-authorization-server', authServerMetadata({ token_endpoint: endpoint }));
      const signIn = machineSignIn(session(clientCredentials));
      assertSaysNothingOfTheTarget(await rejectsWithCode(signIn, 'blocked_address', [SECRET]), endpoint);
      assertNothingInternalReached();
    });

    it('a device authorization endpoint on IPv6 loopback is refused', async () => {
      const endpoint = `https://[::1]:${net.port}/device`;
      net.attacker.route(
        '/.well-known/oauth-authorization-server',
        authServerMetadata({ device_authorization_endpoint: endpoint }),
      );
      const signIn = deviceSignIn(session({ clientId: 'ssrf-client' }), {
        present: () => assert.fail('no device code can have come back'),
        clock: { now: Date.now, sleep: () => Promise.resolve() },
      });
      assertSaysNothingOfTheTarget(await rejectsWithCode(signIn, 'blocked_address'), endpoint);
      assertNothingInternalReached();
    });

    it('a revocation endpoint on a private address is never called on sign-out', async () => {
      net.attacker.route(
        '/.well-known/oauth-authorization-server',
        authServerMetadata({ revocation_endpoint: `https://10.255.77.10:${net.port}/revoke` }),
      );
      const auth = session(clientCredentials);
      await machineSignIn(auth);
      const result = await auth.signOut();
      assert.equal(result.accessToken, 'failed');
      assert.match(result.reason ?? '', /Could not reach "10\.255\.77\.10"/);
      assertNothingInternalReached();
    });
  });

  describe('DNS rebinding and redirects', () => {
    it('a same-origin redirect to a name that now resolves to loopback is refused at that hop', async () => {
      net.dns.set('hop.attacker.test', [PUBLIC_IP], ['127.0.0.1']);
      namesAuthorizationServer(`https://hop.attacker.test:${net.port}`);
      net.attacker.route('/.well-known/oauth-authorization-server', (_req, res) => {
        res.writeHead(302, { location: '/.well-known/oauth-authorization-server/moved' }).end();
      });
      await rejectsWithCode(session().discover(), 'blocked_address');
      assert.deepEqual(
        net.attacker.hits.map((h) => h.what),
        ['GET /.well-known/oauth-protected-resource/mcp', 'GET /.well-known/oauth-authorization-server'],
        'the first hop reached the public host',
      );
      assertNothingInternalReached();
    });

    it('a name is resolved once per request and connected to as checked, so rebinding it reaches nothing', async () => {
      net.dns.set('rebind.attacker.test', [PUBLIC_IP], ['127.0.0.1']);
      namesAuthorizationServer(`https://rebind.attacker.test:${net.port}`);
      const auth = session(clientCredentials);
      const found = await auth.discover();
      assert.equal(found.authServer.issuer, `https://rebind.attacker.test:${net.port}`, 'served by the public host');
      assertNothingInternalReached(); // a check on one answer and a connection on another would have gone inside
      await rejectsWithCode(machineSignIn(auth), 'blocked_address', [SECRET]);
      assertNothingInternalReached();
      assert.equal(net.dns.asked.filter((name) => name === 'rebind.attacker.test').length, 2, 'one lookup a request');
    });

    it("the server's own name rebinding to loopback after the first lookup is refused", async () => {
      net.dns.set('flip.attacker.test', [PUBLIC_IP], ['127.0.0.1']);
      const url = `https://flip.attacker.test:${net.port}/mcp`;
      namesAuthorizationServer(`https://as.attacker.test:${net.port}`, url);
      await rejectsWithCode(session({}, url).discover(), 'blocked_address');
      assertNothingInternalReached();
    });

    it('a server whose name resolves to a public and a loopback address is not a loopback server', async () => {
      net.dns.set('dual.attacker.test', [PUBLIC_IP, '127.0.0.1']);
      const url = `https://dual.attacker.test:${net.port}/mcp`;
      namesAuthorizationServer(`http://127.0.0.1:${net.httpPort}`, url);
      await rejectsWithCode(session({}, url).discover(), 'blocked_address');
      assertNothingInternalReached();
    });

    it("the server's own name rebinding to loopback later in the session does not make it a loopback server", async () => {
      net.dns.set('late.attacker.test', [PUBLIC_IP], [PUBLIC_IP], ['127.0.0.1']);
      const url = `https://late.attacker.test:${net.port}/mcp`;
      namesAuthorizationServer(`https://as.attacker.test:${net.port}`, url);
      net.attacker.route(
        '/.well-known/oauth-authorization-server',
        authServerMetadata({ token_endpoint: `http://127.0.0.1:${net.httpPort}/token` }),
      );
      const auth = session(clientCredentials, url);
      await auth.discover();
      await rejectsWithCode(machineSignIn(auth), 'blocked_address', [SECRET]);
      assertNothingInternalReached();
    });
  });

  describe('errors that could scan ports', () => {
    it('a refused address, a closed port and an open port that is not HTTP give the same message', async () => {
      const cases = [
        { code: 'blocked_address', address: '127.0.0.1', port: net.port }, // the internal https service listens
        { code: 'network_error', address: PUBLIC_IP, port: net.closedPort },
        { code: 'network_error', address: PUBLIC_IP, port: net.bannerPort },
      ] as const;
      const messages: string[] = [];
      for (const { code, address, port } of cases) {
        net.dns.set('probe.attacker.test', [address]);
        const named = `https://probe.attacker.test:${port}`;
        namesAuthorizationServer(named);
        const error = await rejectsWithCode(session().discover(), code);
        assertSaysNothingOfTheTarget(error, named);
        assert.ok(!error.message.includes(String(port)), `the message reveals the port: ${error.message}`);
        assert.equal(error.cause, undefined, 'nothing of the failure is kept');
        messages.push(error.message);
      }
      assert.equal(new Set(messages).size, 1, `different messages:\n${messages.join('\n')}`);
      assertNothingInternalReached();
    });
  });

  describe('what the settings name', () => {
    it('an authorization server the settings name is reached even on loopback; what its metadata names is not', async () => {
      const issuer = `https://internal.attacker.test:${net.port}`;
      const options: AuthOptions = { ...clientCredentials, authorizationServer: issuer };
      net.internal.route(
        '/.well-known/oauth-authorization-server',
        authServerMetadata({ token_endpoint: `https://intranet.attacker.test:${net.port}/token` }),
      );
      await rejectsWithCode(machineSignIn(session(options)), 'blocked_address', [SECRET]);
      assert.deepEqual(
        net.internal.hits.filter((h) => h.what !== 'connection').map((h) => `${h.at} ${h.what}`),
        [`127.0.0.1:${net.port} GET /.well-known/oauth-authorization-server`],
        'the configured origin was reached, the private address it named was not',
      );

      net.internal.reset();
      net.internal.route('/.well-known/oauth-authorization-server', authServerMetadata());
      net.internal.route('/token', json(200, { access_token: 'at-internal', token_type: 'Bearer', expires_in: 300 }));
      const tokens = await machineSignIn(session(options));
      assert.equal(tokens.accessToken, 'at-internal', "the configured origin's own endpoints work");
    });
  });

  describe('a server on a private address', () => {
    it('may name private hosts, but not loopback or link-local ones', async () => {
      net.dns.set('corp.attacker.test', ['10.255.77.10']);
      const url = `https://corp.attacker.test:${net.port}/mcp`;
      const prm = (as: string) =>
        net.internal.route(
          '/.well-known/oauth-protected-resource/mcp',
          json(200, { resource: url, authorization_servers: [as] }),
        );
      net.internal.route('/.well-known/oauth-authorization-server', authServerMetadata());

      prm(`https://intranet.attacker.test:${net.port}`);
      const found = await session({}, url).discover();
      assert.equal(found.authServer.issuer, `https://intranet.attacker.test:${net.port}`, 'a private AS is fine');

      for (const as of [`https://internal.attacker.test:${net.port}`, `https://linklocal.attacker.test:${net.port}`]) {
        net.internal.reset();
        prm(as);
        net.internal.route('/.well-known/oauth-authorization-server', authServerMetadata());
        await rejectsWithCode(session({}, url).discover(), 'blocked_address');
        assert.deepEqual(
          [...new Set(net.internal.hits.map((h) => h.at))],
          [`10.255.77.10:${net.port}`],
          `only the server itself was reached, not ${as}`,
        );
      }
    });
  });
});
