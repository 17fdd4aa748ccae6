// Property 14: sign-out leaves nothing alive. Against the real oidc-provider: a sign-in, a scope step-up (or a
// sign-in with another client) and Sign Out must leave no refresh token that still refreshes, and no dynamic
// registration the product stopped using. The browser's redirect URI changes between sign-ins, as VS Code for
// the web's does (its callback URI carries a per-request id): the registration is updated in place (RFC 7592)
// where the AS allows it, instead of a new client per sign-in.
import assert from 'node:assert/strict';
import { McpOAuthError } from '../../src/oauth/errors';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { toBundle } from '../../src/oauth/tokens/tokenBundle';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../fixtures/testClients';
import { coreEnvironment, ScriptedUser } from '../unit/support/coreHarness';

const KEY = 'work';

describe('security: a replaced sign-in leaves no live token or unused registration (property 14)', () => {
  for (const management of [true, false]) {
    describe(
      management ? 'an AS with registration management (RFC 7592)' : 'an AS without registration management',
      () => {
        let as: AuthServer;
        let server: McpServerFixture;
        let env: ReturnType<typeof coreEnvironment>;
        let port = 41000;
        /** A user whose browser comes back to a redirect URI unlike the last one. */
        const user = () => new ScriptedUser(`http://127.0.0.1:${++port}/`);

        before(async () => {
          as = await startAuthServer({ clients: [PUBLIC_CLIENT], registrationManagement: management });
          server = await startSplitDomainServer({ as });
        });
        after(async () => {
          await server.close();
          await as.close();
        });
        beforeEach(() => {
          const base = coreEnvironment();
          env = Object.assign(base, {
            clientInUse: async (issuer: string, clientId: string) => {
              const held = await base.tokens.get(KEY);
              return held?.issuer === issuer && held.clientId === clientId;
            },
          });
        });

        const auth = (options = {}) => new ServerAuth(env, server.url, options, KEY);
        const active = async (token: string | undefined) => (await as.introspect(token!)).active;
        const count = (method: string, path: RegExp) =>
          as.requests.filter((r) => r.method === method && path.test(r.path)).length;
        const registered = async (clientId: string) => !!(await as.provider.Client.find(clientId));

        it('a step-up with a new redirect URI: then Sign Out revokes the first sign-in’s refresh token too', async () => {
          const registrations = count('POST', /^\/reg$/);
          const first = await auth().signIn(user());
          const second = await auth().signIn(user(), { extraScopes: ['mcp:write'], stepUp: true });
          assert.notEqual(second.refreshToken, first.refreshToken);
          assert.ok(second.scopes.includes('mcp:write'));
          const stored = (await env.tokens.get(KEY))!;
          if (management) {
            assert.equal(second.clientId, first.clientId, 'the registration was updated in place, not replaced');
            assert.equal(count('POST', /^\/reg$/) - registrations, 1, 'one registration for both sign-ins');
            assert.deepEqual(stored.supersededRefreshTokens, [first.refreshToken], 'kept to revoke at sign-out');
          } else {
            assert.notEqual(second.clientId, first.clientId, 'no way to update: a new registration');
            assert.equal(await active(first.refreshToken), false, "the other client's tokens are revoked at once");
          }
          assert.equal(await active(second.refreshToken), true, 'the new session is alive');

          const result = await auth().signOut();
          assert.equal(result.refreshToken, 'revoked');
          assert.equal(await active(first.refreshToken), false, "the first sign-in's refresh token is dead");
          assert.equal(await active(second.refreshToken), false);
          await assert.rejects(auth().tokenManager().getAccessToken(), (e: unknown) => {
            assert.ok(e instanceof McpOAuthError && e.code === 'not_signed_in', String(e));
            return true;
          });
        });

        it('a sign-in after Reset Client Registration revokes the replaced session at once, and deletes its registration where the AS allows', async () => {
          const signedIn = auth();
          const first = await signedIn.signIn(user());
          await signedIn.resetClientRegistration();
          assert.equal(await registered(first.clientId), true, 'the session still uses it: kept for now');
          const second = await signedIn.signIn(user());
          assert.notEqual(second.clientId, first.clientId, 'registered anew');
          assert.equal(await active(first.refreshToken), false, 'revoked when replaced');
          assert.equal(await active(second.refreshToken), true);
          assert.equal((await env.tokens.get(KEY))?.supersededRefreshTokens, undefined);
          assert.equal(await registered(first.clientId), !management, 'deleted (RFC 7592) once nothing uses it');
          await signedIn.signOut();
          assert.equal(await active(second.refreshToken), false);
        });

        it('the registration Reset Client Registration replaced is deleted by the next sign-in in another process, or at sign-out', async () => {
          const first = await auth().signIn(user());
          await auth().resetClientRegistration();
          const stored = (await env.tokens.get(KEY))!;
          assert.equal(stored.retiringRegistration?.clientId, first.clientId, 'kept with the session');
          assert.equal(await registered(first.clientId), true, 'the session still uses it: kept for now');
          // A restart: a new ServerAuth (nothing in memory) signs in; the session it replaces names the registration.
          const second = await auth().signIn(user());
          assert.notEqual(second.clientId, first.clientId);
          assert.equal(await registered(first.clientId), !management, 'deleted (RFC 7592) once nothing uses it');
          assert.equal((await env.tokens.get(KEY))!.retiringRegistration, undefined);

          await auth().resetClientRegistration();
          assert.equal(await registered(second.clientId), true);
          await auth().signOut();
          assert.equal(await registered(second.clientId), !management, 'deleted at sign-out');
        });

        it('switching to a pre-registered client revokes the session of the dynamic one at once', async () => {
          const first = await auth().signIn(user());
          const second = await auth({ clientId: PUBLIC_CLIENT.client_id }).signIn(user());
          assert.equal(second.clientId, PUBLIC_CLIENT.client_id);
          assert.equal(await active(first.refreshToken), false, 'revoked when replaced');
          assert.equal(await active(second.refreshToken), true);
          await auth({ clientId: PUBLIC_CLIENT.client_id }).signOut();
          assert.equal(await active(second.refreshToken), false);
        });

        it('an imported bundle replacing a session of another client revokes it at once', async () => {
          const first = await auth({ clientId: PUBLIC_CLIENT.client_id }).signIn(user());
          // A bundle of a second sign-in, made elsewhere (another machine's sign-in, exported).
          const elsewhere = coreEnvironment();
          const exported = await new ServerAuth(elsewhere, server.url, {}, KEY).signIn(user());
          const bundle = JSON.stringify(toBundle(server.url, exported));
          await auth().importBundle(bundle);
          assert.equal(await active(first.refreshToken), false, 'the replaced session is revoked');
          assert.equal(await active(exported.refreshToken), true, 'the imported one is kept');
        });
      },
    );
  }
});
