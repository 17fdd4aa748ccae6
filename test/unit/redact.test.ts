import assert from 'node:assert/strict';
import { redact } from '../../src/oauth/http/redact';

describe('log redaction', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const cases: [string, string, string][] = [
    ['a JWT', `token ${jwt} used`, 'token [redacted jwt] used'],
    ['a bearer header', 'Authorization: Bearer abcdefgh12345678', 'Authorization: Bearer [redacted]'],
    ['a basic header', 'authorization: Basic c3RhdGljOnNlY3JldA==', 'authorization: Basic [redacted]'],
    [
      'a form body',
      'grant_type=refresh_token&refresh_token=Zm9vYmFyYmF6&client_id=x',
      'grant_type=refresh_token&refresh_token=[redacted]&client_id=x',
    ],
    ['a callback query', '/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=abc', '/callback?code=[redacted]&state=abc'],
    [
      'a JSON body',
      '{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer"}',
      '{"access_token":"[redacted]","token_type":"Bearer"}',
    ],
    ['a verifier', 'code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'code_verifier=[redacted]'],
    ['a client secret', 'client_secret: s3cr3t-value', 'client_secret: [redacted]'],
    ['a private key', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----', '[redacted private key]'],
  ];
  for (const [label, input, expected] of cases) {
    it(`redacts ${label}`, () => assert.equal(redact(input), expected));
  }
  it('leaves ordinary log lines alone', () => {
    const line =
      '[signIn] [split] signed in with authorizationCode (scopes "mcp:read offline_access", refresh token yes)';
    assert.equal(redact(line), line);
    assert.equal(
      redact('[refresh] [http://127.0.0.1:7301/mcp] token renewed'),
      '[refresh] [http://127.0.0.1:7301/mcp] token renewed',
    );
  });
});
