import assert from 'node:assert/strict';
import { accountClaim, claimsOf, describeAccount } from '../../src/oauth/tokens/claims';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';

/** The account label shown in the tree and the Accounts menu, from the ID token or a JWT access token. */

const jwt = (claims: unknown) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

function tokens(patch: Partial<TokenSet>): TokenSet {
  return {
    accessToken: 'opaque',
    tokenType: 'Bearer',
    scopes: [],
    issuer: 'https://as.example.com:8443',
    clientId: 'c',
    tokenEndpoint: 'https://as.example.com:8443/token',
    obtainedAt: 0,
    ...patch,
  };
}

describe('account label', () => {
  it('prefers email, then preferred_username, then sub', () => {
    assert.equal(
      describeAccount(tokens({ idToken: jwt({ sub: 's', preferred_username: 'p', email: 'e@x.test' }) })),
      'e@x.test',
    );
    assert.equal(describeAccount(tokens({ idToken: jwt({ sub: 's', preferred_username: 'p' }) })), 'p');
    assert.equal(describeAccount(tokens({ idToken: jwt({ sub: 's' }) })), 's');
  });

  it('reads the ID token before a JWT access token', () => {
    assert.equal(
      describeAccount(tokens({ idToken: jwt({ email: 'id@x.test' }), accessToken: jwt({ email: 'at@x.test' }) })),
      'id@x.test',
    );
    assert.equal(describeAccount(tokens({ accessToken: jwt({ email: 'at@x.test' }) })), 'at@x.test');
  });

  it("falls back to the issuer's host when the tokens carry no claims; accountClaim says there are none", () => {
    assert.equal(describeAccount(tokens({})), 'as.example.com:8443');
    assert.equal(accountClaim(tokens({})), undefined);
  });

  it('ignores claims of the wrong type and empty strings', () => {
    assert.equal(accountClaim(tokens({ idToken: jwt({ email: 42, preferred_username: '', sub: ['x'] }) })), undefined);
  });

  it('decodes nothing from malformed tokens', () => {
    for (const token of [
      'a.b',
      'a.!!!.c',
      `x.${Buffer.from('[1]').toString('base64url')}.y`,
      `x.${Buffer.from('null').toString('base64url')}.y`,
      'a.b.c.d',
    ]) {
      assert.equal(claimsOf(token), undefined, token);
    }
  });
});
