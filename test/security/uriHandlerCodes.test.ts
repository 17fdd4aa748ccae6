// Property 13: an authorization code that holds `+`, `&`, `#`, `%` or `=` (RFC 6749 allows any visible ASCII)
// arrives intact through the URI handler. VS Code hands the handler the callback's query in one of two forms:
// desktop VS Code parses the URI the operating system gives it with URI.parse, which percent-decodes the query
// once; VS Code for the web passes on the query its callback page re-encoded. The handler must decode exactly
// once in all. The web form is also proven end to end in a real VS Code (test/integration/uriHandlerCodes.test.ts,
// against an authorization server whose codes end in these characters).
import assert from 'node:assert/strict';
import { callbackUrl } from '../../src/vscode/model/callbackUri';
import { AWKWARD_CODE_SUFFIX } from '../fixtures/authServer';

const CODE = `SplxlOBeZQQYbYS6WxSbIA${AWKWARD_CODE_SUFFIX}`;
const STATE = 'af0ifjsldkj+/=';
const ISS = 'https://as.example.com/tenant?x=1';
/** The callback as the browser reaches it: the redirect URI with the response, each value percent-encoded. */
const FROM_THE_BROWSER = new URLSearchParams({ code: CODE, state: STATE, iss: ISS }).toString();

/** What desktop VS Code's URI.parse makes of the query: each percent-escape decoded once. */
const decodedOnce = (query: string) => decodeURIComponent(query.replace(/\+/g, '%20'));

describe('security: codes survive the URI handler (property 13)', () => {
  it('a query VS Code for the web passes on encoded is decoded once', () => {
    const url = callbackUrl('/callback/abc', FROM_THE_BROWSER, 'encoded');
    assert.equal(url.searchParams.get('code'), CODE);
    assert.equal(url.searchParams.get('state'), STATE);
    assert.equal(url.searchParams.get('iss'), ISS);
    assert.equal(url.pathname, '/callback/abc');
  });

  it('a query desktop VS Code decoded already is not decoded again, and its & # = do not split the code', () => {
    const query = decodedOnce(new URLSearchParams({ code: CODE, state: 'plain-state' }).toString());
    assert.ok(query.includes('#') && query.includes('&#'), 'the decoded query holds the raw characters');
    const url = callbackUrl('/callback', query, 'decoded');
    assert.equal(url.searchParams.get('code'), CODE);
    assert.equal(url.searchParams.get('state'), 'plain-state');
  });

  it('an error response with a description survives in both forms', () => {
    const response = new URLSearchParams({
      error: 'access_denied',
      error_description: 'No & no + 100% #1',
      state: 'plain-state',
    }).toString();
    for (const [query, form] of [
      [response, 'encoded'],
      [decodedOnce(response), 'decoded'],
    ] as const) {
      const url = callbackUrl('/callback', query, form);
      assert.equal(url.searchParams.get('error'), 'access_denied', form);
      assert.equal(url.searchParams.get('error_description'), 'No & no + 100% #1', form);
      assert.equal(url.searchParams.get('state'), 'plain-state', form);
    }
  });
});
