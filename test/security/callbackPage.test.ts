// Property 12: the browser page tells the truth. The CLI's sign-in host (its real loopback receiver) against a
// real oidc-provider; the browser is a scripted user who reads the page the receiver answers the callback with.
// It may say "Signed in" only once the client has checked the response (`state`, `iss`) and redeemed the code,
// and the session is stored; a response the client refuses, or a code it cannot redeem, gets the reason.
import assert from 'node:assert/strict';
import { cliHost } from '../../src/cli/cliHost';
import { McpOAuthError } from '../../src/oauth/errors';
import type { SignInHost } from '../../src/oauth/session/host';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { approveAuthorization, Browser } from '../fixtures/userAgent';
import { coreEnvironment } from '../unit/support/coreHarness';

const KEY = 'work';

interface Page {
  readonly status: number;
  readonly html: string;
  /** What was stored when the page arrived. */
  readonly stored: TokenSet | undefined;
}

describe('security: the browser page says "signed in" only when it is true (property 12)', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let server: McpServerFixture;

  before(async () => {
    as = await startAuthServer();
    server = await startSplitDomainServer({ as });
  });
  after(async () => {
    await server.close();
    await as.close();
  });
  afterEach(() => as.setFault(undefined));

  /** Signs in with the CLI's host; the browser changes the callback with `tamper` (a hostile AS) and reads the page. */
  async function signIn(tamper: (callback: URL) => void = () => undefined) {
    const env = coreEnvironment();
    let page: Promise<Page> | undefined;
    const cli = cliHost({ openBrowser: false }, { write: () => true } as unknown as typeof process.stderr);
    const host: SignInHost = {
      ...cli,
      openBrowser: async (url) => {
        // The browser runs on its own, as a real one would: the sign-in goes on while its page loads.
        page = (async () => {
          const browser = new Browser();
          const callback = await approveAuthorization(url, { browser });
          tamper(callback);
          const response = await browser.open({ url: callback, method: 'GET' });
          const html = await response.text();
          return { status: response.status, html, stored: await env.tokens.get(KEY) };
        })();
      },
    };
    const outcome = await new ServerAuth(env, server.url, {}, KEY).signIn(host).then(
      (tokens) => ({ tokens }),
      (error: unknown) => ({ error }),
    );
    assert.ok(page, 'the browser was opened');
    return { outcome, page: await page, env };
  }

  const title = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];

  it('says "Signed in" after the code was redeemed and the session stored', async () => {
    const { outcome, page } = await signIn();
    assert.ok('tokens' in outcome, String((outcome as { error?: unknown }).error));
    assert.equal(page.status, 200);
    assert.equal(title(page.html), 'Signed in');
    assert.equal(page.stored?.accessToken, outcome.tokens.accessToken, 'stored before the page said so');
  });

  it('says the sign-in failed, and why, when the code cannot be redeemed', async () => {
    as.setFault('500', ['/token']);
    const { outcome, page, env } = await signIn();
    assert.ok('error' in outcome && outcome.error instanceof McpOAuthError);
    assert.equal(page.status, 400);
    assert.equal(title(page.html), 'Sign-in failed');
    assert.match(page.html, /HTTP 500|server_error|token request/i);
    assert.equal(await env.tokens.get(KEY), undefined);
  });

  it('says the sign-in failed when the response names another authorization server (iss)', async () => {
    const { outcome, page, env } = await signIn((callback) => callback.searchParams.set('iss', 'https://evil.example'));
    assert.ok('error' in outcome && outcome.error instanceof McpOAuthError);
    assert.equal(outcome.error.code, 'iss_mismatch');
    assert.equal(page.status, 400);
    assert.equal(title(page.html), 'Sign-in failed');
    assert.match(page.html, /evil\.example|issuer|iss/);
    assert.equal(await env.tokens.get(KEY), undefined);
  });
});
