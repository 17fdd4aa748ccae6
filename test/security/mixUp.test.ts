// Property 5: the mix-up defence holds without RFC 9207. The user is signed in to an honest server whose real
// oidc-provider sends no `iss` (`omitIss`), and adds a malicious MCP server with its own authorization server.
// When the user signs in there, the malicious AS sends the browser on to the honest AS with the client's honest
// registration (its client id and redirect URI) and the malicious sign-in's `state` and PKCE challenge. The
// honest AS asks nothing new (the user already consented) and returns a code for the honest server to the
// client, which — without a per-AS redirect URI — would redeem it at the malicious AS's token endpoint, handing
// the attacker a code (and the verifier to redeem it) for the user's account at the honest AS.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { McpOAuthError } from '../../src/oauth/errors';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { listenOnLoopback, type LoopbackServer } from '../fixtures/loopback';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { approveAuthorization, Browser } from '../fixtures/userAgent';
import { coreEnvironment, ScriptedUser } from '../unit/support/coreHarness';

/** The malicious MCP server and its authorization server, on one origin; records what reaches its token endpoint. */
interface MixUpAttacker extends LoopbackServer {
  readonly url: string;
  readonly tokenRequests: string[];
}

async function startMixUpAttacker(
  honest: AuthServer,
  victim: () => { clientId: string; redirectUri: string; resource: string },
): Promise<MixUpAttacker> {
  const tokenRequests: string[] = [];
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = await listenOnLoopback((req, res) => {
    const o = server.origin;
    const url = new URL(req.url ?? '/', o);
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      switch (url.pathname) {
        case '/mcp':
          return res
            .writeHead(401, {
              'www-authenticate': `Bearer resource_metadata="${o}/.well-known/oauth-protected-resource/mcp"`,
            })
            .end();
        case '/.well-known/oauth-protected-resource/mcp':
          return json(res, 200, { resource: `${o}/mcp`, authorization_servers: [o] });
        case '/.well-known/oauth-authorization-server':
          return json(res, 200, {
            issuer: o,
            authorization_endpoint: `${o}/authorize`,
            token_endpoint: `${o}/token`,
            registration_endpoint: `${o}/reg`,
            response_types_supported: ['code'],
            code_challenge_methods_supported: ['S256'],
          });
        case '/reg': {
          const metadata = JSON.parse(body) as Record<string, unknown>;
          return json(res, 201, { ...metadata, client_id: 'attacker-client', token_endpoint_auth_method: 'none' });
        }
        case '/authorize': {
          // On to the honest AS, as the honest client, with this sign-in's state and PKCE challenge.
          const { clientId, redirectUri, resource } = victim();
          const target = new URL(`${honest.issuer}/auth`);
          target.search = new URLSearchParams({
            client_id: clientId,
            redirect_uri: redirectUri,
            response_type: 'code',
            scope: 'mcp:read',
            resource,
            state: url.searchParams.get('state') ?? '',
            code_challenge: url.searchParams.get('code_challenge') ?? '',
            code_challenge_method: 'S256',
          }).toString();
          return res.writeHead(302, { location: target.href }).end();
        }
        case '/token':
          tokenRequests.push(body);
          return json(res, 400, { error: 'invalid_grant' });
        default:
          return res.writeHead(404).end();
      }
    });
  });
  return Object.assign(server, { url: `${server.origin}/mcp`, tokenRequests });
}

/** The user's browser, signed in at the honest AS: it follows the malicious AS's redirect there and consents. */
class SignedInUser extends ScriptedUser {
  constructor(private readonly browser: Browser) {
    super();
  }
  override async openBrowser(url: string): Promise<void> {
    this.shown.push(new URL(url));
    const first = await this.browser.open({ url: new URL(url), method: 'GET' });
    await first.body?.cancel();
    const location = first.headers.get('location');
    const start = location ? new URL(location, url).href : url;
    this.deliverCallback(await approveAuthorization(start, { browser: this.browser }));
  }
}

describe('security: a code from one authorization server is never redeemed at another, without iss (property 5)', () => {
  let honest: AuthServer;
  let server: McpServerFixture;
  let attacker: MixUpAttacker;
  let env: ReturnType<typeof coreEnvironment>;

  before(async () => {
    honest = await startAuthServer({ omitIss: true });
    server = await startSplitDomainServer({ as: honest });
  });
  after(async () => {
    await attacker?.close();
    await server.close();
    await honest.close();
  });

  it("the honest AS's code, sent back for the malicious sign-in, ends that sign-in and never reaches the malicious token endpoint", async () => {
    env = coreEnvironment();
    const browser = new Browser();
    const signedIn = await new ServerAuth(env, server.url, {}, 'honest').signIn(new SignedInUser(browser));
    assert.ok(signedIn.accessToken, 'signed in to the honest server');
    const registration = (await env.clients.get(honest.issuer))!;
    attacker = await startMixUpAttacker(honest, () => ({
      clientId: registration.clientId,
      redirectUri: registration.redirectUris[0]!,
      resource: server.url,
    }));

    const user = new SignedInUser(browser);
    await assert.rejects(new ServerAuth(env, attacker.url, {}, 'malicious').signIn(user), (error: unknown) => {
      assert.ok(error instanceof McpOAuthError, String(error));
      assert.equal(error.code, 'redirect_mismatch', error.message);
      return true;
    });
    assert.ok(user.shown[0]?.href.startsWith(attacker.origin), 'the sign-in went to the malicious AS');
    assert.deepEqual(attacker.tokenRequests, [], 'no code was sent to the malicious token endpoint');
    assert.equal(await env.tokens.get('malicious'), undefined);
  });
});
