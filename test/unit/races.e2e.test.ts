// Refresh races against a real oidc-provider that rotates refresh tokens (a replayed one is refused with
// invalid_grant): two token managers (two ServerAuth instances, as two windows or processes would have)
// share one token file and refresh, concurrently and in turn, on clocks that jump past expiry.
// (50 concurrent tool calls through the gateway on an expired token are in tokenGateway.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileTokenStore } from '../../src/cli/store/fileTokenStore';
import type { ServerAuth } from '../../src/oauth/session/serverAuth';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { coreEnvironment, MemoryClientStore, newServerAuth, ScriptedUser, text } from './support/coreHarness';
import { connectWithTokens } from './support/headlessHarness';

const TARGET_REFRESHES = 200;

describe('refresh races against a rotating authorization server', function () {
  this.timeout(20_000);
  let as: AuthServer;
  let split: McpServerFixture;
  let dir: string;

  before(async () => {
    as = await startAuthServer({ refreshTokenRotation: true });
    split = await startSplitDomainServer({ as });
    dir = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-races-'));
  });
  after(async () => {
    await split.close();
    await as.close();
    await rm(dir, { recursive: true, force: true });
  });

  const refreshGrants = () => as.grants.filter((g) => g.grantType === 'refresh_token' && !g.error).length;
  const invalidGrants = () => as.grants.filter((g) => g.error === 'invalid_grant').length;
  const refreshErrors = () => as.grants.filter((g) => g.grantType === 'refresh_token' && g.error).length;

  it(`two ServerAuth instances sharing one FileTokenStore file: ${TARGET_REFRESHES} interleaved refreshes, 0 invalid_grant, 0 lost sessions`, async () => {
    const file = path.join(dir, 'tokens.json');
    const clients = new MemoryClientStore();
    // Each window has its own clock; the rounds below move them past expiry, together and apart.
    let skewA = 0;
    let skewB = 0;
    const envA = coreEnvironment({
      tokens: new FileTokenStore(file),
      clients,
      now: () => Date.now() + skewA,
      refreshBeforeMs: 30_000,
    });
    const envB = coreEnvironment({
      tokens: new FileTokenStore(file),
      clients,
      now: () => Date.now() + skewB,
      refreshBeforeMs: 30_000,
    });
    const a = newServerAuth(envA, split.url);
    const b = newServerAuth(envB, split.url);
    const first = await a.signIn(new ScriptedUser());
    assert.equal(await b.tokenManager().getAccessToken(), first.accessToken, 'B reads what A stored');

    const stored = async (): Promise<TokenSet> => (await envA.tokens.get(a.tokenKey))!;
    /** Past the expiry of the stored token on `who`'s clock (by the refresh margin and a second more). */
    const expireFor = async (who: 'a' | 'b' | 'both') => {
      const expiresAt = (await stored()).expiresAt!;
      const skew = expiresAt - Date.now() + 1000;
      if (who !== 'b') skewA = Math.max(skewA, skew);
      if (who !== 'a') skewB = Math.max(skewB, skew);
    };

    const failures: unknown[] = [];
    let calls = 0;
    const call = (
      auth: ServerAuth,
      what: 'force' | 'get' | 'tokens' | 'rejected',
      rejected?: string,
    ): Promise<unknown> => {
      calls++;
      const manager = auth.tokenManager();
      const run =
        what === 'force'
          ? manager.forceRefresh()
          : what === 'get'
            ? manager.getAccessToken()
            : what === 'tokens'
              ? manager.getTokens()
              : manager.forceRefresh(rejected);
      return run.catch((error: unknown) => void failures.push(error));
    };

    const invalidBefore = invalidGrants();
    const errorsBefore = refreshErrors();
    const start = refreshGrants();
    /** Rounds where both windows got the same 401 at once: exactly one refresh each. */
    const sameRejection: number[] = [];
    let round = 0;
    // Stops early once a call has failed: a lost session would never reach the target.
    while (refreshGrants() - start < TARGET_REFRESHES && failures.length === 0 && round < 4 * TARGET_REFRESHES) {
      switch (round++ % 6) {
        case 0: // in turn, unconditionally
          await call(a, 'force');
          await call(b, 'force');
          break;
        case 1: // at once, unconditionally, with readers in between
          await Promise.all([call(a, 'force'), call(b, 'get'), call(b, 'force'), call(a, 'tokens'), call(a, 'force')]);
          break;
        case 2: // both clocks past expiry: a burst of readers from both windows
          await expireFor('both');
          await Promise.all([
            call(a, 'get'),
            call(b, 'get'),
            call(a, 'get'),
            call(b, 'tokens'),
            call(a, 'tokens'),
            call(b, 'get'),
          ]);
          break;
        case 3: {
          // both windows had the same token refused by the server (a 401 in each)
          const before = refreshGrants();
          const rejected = (await stored()).accessToken;
          await Promise.all([
            call(a, 'rejected', rejected),
            call(b, 'rejected', rejected),
            call(b, 'rejected', rejected),
          ]);
          sameRejection.push(refreshGrants() - before);
          break;
        }
        case 4: // only A's clock is past expiry; B keeps reading and forcing meanwhile
          await expireFor('a');
          await Promise.all([call(a, 'get'), call(b, 'force'), call(a, 'get'), call(b, 'get')]);
          break;
        case 5: // only B's clock is past expiry, interleaved with sequential forcing by A
          await expireFor('b');
          await call(a, 'force');
          await Promise.all([call(b, 'get'), call(b, 'tokens'), call(a, 'force')]);
          await call(b, 'force');
          break;
      }
    }
    const refreshes = refreshGrants() - start;

    assert.deepEqual(
      failures.map((e) => String((e as Error)?.message ?? e)),
      [],
      'no call failed: no session was lost',
    );
    assert.equal(
      invalidGrants() - invalidBefore,
      0,
      'no invalid_grant at the AS: no rotated refresh token was replayed',
    );
    assert.equal(refreshErrors() - errorsBefore, 0, 'no refresh failed at the AS');
    assert.ok(refreshes >= TARGET_REFRESHES, `${refreshes} refreshes`);
    assert.ok(
      sameRejection.every((n) => n === 1),
      `one refresh per shared 401: ${sameRejection.join(', ')}`,
    );

    // Both windows still hold the session, and it is alive at the AS.
    const last = await stored();
    assert.equal(await a.tokenManager().getAccessToken(), last.accessToken);
    assert.equal(await b.tokenManager().getAccessToken(), last.accessToken);
    assert.equal(a.tokenManager().status.state, 'valid');
    assert.equal(b.tokenManager().status.state, 'valid');
    assert.equal((await as.introspect(last.refreshToken!)).active, true, 'the final refresh token is active');
    assert.equal((await as.introspect(first.refreshToken!)).active, false, 'the first one was really rotated away');
    for (const auth of [a, b]) {
      const client = await connectWithTokens(auth);
      try {
        assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      } finally {
        await client.close();
      }
    }
    console.log(
      `      (${calls} calls in ${round} rounds → ${refreshes} refreshes, ${invalidGrants() - invalidBefore} invalid_grant, ${failures.length} lost)`,
    );
  });
});
