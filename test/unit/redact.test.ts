import assert from 'node:assert/strict';
import { isCredentialName, redact } from '../../src/oauth/http/redact';

describe('log redaction', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const jwe =
    'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZ.48V1_ALb6US04U3b.5eym8TW_c8SuK.XFBoMYUZodetZdvTiFvSkQ';
  const cases: [string, string, string][] = [
    // JWT, JWS and JWE compact forms
    ['a JWT', `token ${jwt} used`, 'token [redacted jwt] used'],
    ['an unsecured JWT (no signature)', 'id eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0. end', 'id [redacted jwt] end'],
    ['a JWE (five parts)', `got ${jwe}!`, 'got [redacted jwt]!'],
    ['a JWS whose header has a space', 'x eyAiYWxnIjogIkVTMjU2In0.eyJzdWIiOiJhIn0.c2ln y', 'x [redacted jwt] y'],
    // Authorization headers, any scheme, casing and separator
    ['a bearer header', 'Authorization: Bearer abcdefgh12345678', 'Authorization: Bearer [redacted]'],
    ['a basic header', 'authorization: Basic c3RhdGljOnNlY3JldA==', 'authorization: Basic [redacted]'],
    [
      'a DPoP-bound header',
      'AUTHORIZATION: DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU',
      'AUTHORIZATION: DPoP [redacted]',
    ],
    [
      'a MAC header with quoted parameters',
      'Authorization: MAC id="h480djs93hd8", nonce="264095:dj83hs9s", mac="SLDJd4mg43cjQfElUs3Qub4L6xE="',
      'Authorization: MAC [redacted]',
    ],
    [
      'a Negotiate header after "="',
      'authorization=Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag',
      'authorization=Negotiate [redacted]',
    ],
    ['a header credential with & and =', 'Authorization: Bearer a&b=c?d#e/f', 'Authorization: Bearer [redacted]'],
    ['a scheme-less header value', 'Authorization: 9f86d081884c7d659a2feaa0c55ad015', 'Authorization: [redacted]'],
    ['a proxy header', 'Proxy-Authorization: Basic dXNlcjpodW50ZXIy', 'Proxy-Authorization: Basic [redacted]'],
    [
      'a JSON "authorization" member',
      '{"headers":{"authorization":"Bearer 2YotnFZFEjr1zCsicMWpAA","accept":"*/*"}}',
      '{"headers":{"authorization":"Bearer [redacted]","accept":"*/*"}}',
    ],
    [
      'a JSON-escaped "Authorization" inside a string',
      '"{\\"Authorization\\":\\"Basic c3RhdGljOnNlY3JldA==\\"}"',
      '"{\\"Authorization\\":\\"Basic [redacted]\\"}"',
    ],
    ['a bearer credential in prose', 'sent Bearer 2YotnFZFEjr1zCsicMWpAA upstream', 'sent Bearer [redacted] upstream'],
    ['a form-encoded bearer credential', 'auth=Bearer+2YotnFZFEjr1zCsicMWpAA', 'auth=Bearer+[redacted]'],
    // DPoP proofs, cookies, API-key headers
    ['a DPoP proof header', `DPoP: ${jwt}`, 'DPoP: [redacted]'],
    ['a Cookie header', 'Cookie: sid=31d4d96e407aad42; lang=en', 'Cookie: [redacted]'],
    ['a Set-Cookie header', 'set-cookie: sid=31d4d96e407aad42; Path=/; HttpOnly', 'set-cookie: [redacted]'],
    ['an x-api-key header', 'x-api-key: 3f7a9c2e5b1d4f6a8c0e', 'x-api-key: [redacted]'],
    ['an X-Auth-Token header', 'X-Auth-Token: AbCdEf0123456789', 'X-Auth-Token: [redacted]'],
    ['an upper-case API key variable', 'API_KEY=sk_abcdefgh12', 'API_KEY=[redacted]'],
    // credential parameters in form bodies and query strings, plain and percent-encoded
    [
      'a form body',
      'grant_type=refresh_token&refresh_token=Zm9vYmFyYmF6&client_id=x',
      'grant_type=refresh_token&refresh_token=[redacted]&client_id=x',
    ],
    ['a callback query', '/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=abc', '/callback?code=[redacted]&state=abc'],
    ['a verifier', 'code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'code_verifier=[redacted]'],
    ['a device code', 'device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS', 'device_code=[redacted]'],
    ['a client secret in a body', 'client_id=c&client_secret=s3cr3t%2Fvalue', 'client_id=c&client_secret=[redacted]'],
    ['a client assertion', `client_assertion=${jwt}&x=1`, 'client_assertion=[redacted]&x=1'],
    [
      'a JWT-bearer assertion',
      'grant_type=urn%3Aietf&assertion=PHNhbWw6QXNzZXJ0aW9u',
      'grant_type=urn%3Aietf&assertion=[redacted]',
    ],
    [
      'a subject and an actor token',
      'subject_token=abcd1234&actor_token=efgh5678',
      'subject_token=[redacted]&actor_token=[redacted]',
    ],
    [
      'a revoked token',
      'token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token',
      'token=[redacted]&token_type_hint=refresh_token',
    ],
    ['a password', 'username=alice&password=hunter22', 'username=alice&password=[redacted]'],
    [
      'an api_key query parameter',
      'https://api.example.com/v1?api_key=AIzaSyD&q=x',
      'https://api.example.com/v1?api_key=[redacted]&q=x',
    ],
    ['a percent-encoded form', 'access_token%3Dabc123def%26x%3D1', 'access_token%3D[redacted]%26x%3D1'],
    [
      'a form value that is percent-encoded JSON',
      'refresh_token=%7B%22kty%22%3A%22EC%22%2C%22d%22%3A%22x%22%7D&client_id=c',
      'refresh_token=[redacted]&client_id=c',
    ],
    [
      "a form value with the characters encodeURIComponent leaves (*!()')",
      "refresh_token=a*b!c(d)e'f&client_id=c",
      'refresh_token=[redacted]&client_id=c',
    ],
    [
      'a form inside a percent-encoded URL',
      'next=%2Fcb%3Fa%3D1%26code%3DSplxlOBeZQ',
      'next=%2Fcb%3Fa%3D1%26code%3D[redacted]',
    ],
    // the same keys in JSON: snake_case, camelCase and kebab-case, quoted with " or ' or unquoted
    [
      'a JSON body',
      '{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer"}',
      '{"access_token":"[redacted]","token_type":"Bearer"}',
    ],
    [
      'camelCase JSON keys',
      '{"accessToken":"a1b2c3d4","refreshToken":"e5f6g7h8","idToken":"i9j0k1l2","clientSecret":"m3n4o5p6"}',
      '{"accessToken":"[redacted]","refreshToken":"[redacted]","idToken":"[redacted]","clientSecret":"[redacted]"}',
    ],
    [
      'more camelCase JSON keys, with spaces',
      '{ "codeVerifier": "q7r8s9t0", "deviceCode": "u1v2w3x4", "clientAssertion": "y5z6a7b8", "subjectToken": "c9d0e1f2" }',
      '{ "codeVerifier": "[redacted]", "deviceCode": "[redacted]", "clientAssertion": "[redacted]", "subjectToken": "[redacted]" }',
    ],
    [
      'kebab-case keys',
      '{"refresh-token":"Zm9vYmFy","client-secret":"YmF6cXV4"}',
      '{"refresh-token":"[redacted]","client-secret":"[redacted]"}',
    ],
    [
      'single-quoted keys',
      "{'access_token': 'Zm9vYmFy', 'idToken': 'YmF6cXV4'}",
      "{'access_token': '[redacted]', 'idToken': '[redacted]'}",
    ],
    [
      'unquoted keys',
      '{accessToken: Zm9vYmFy1, refreshToken: YmF6cXV4}',
      '{accessToken: [redacted], refreshToken: [redacted]}',
    ],
    ['a value with escaped quotes', '{"password":"a\\"b c\\"d","x":1}', '{"password":"[redacted]","x":1}'],
    ['a quoted value with spaces', '"client_secret": "correct horse battery staple"', '"client_secret": "[redacted]"'],
    ['JSON inside a JSON string', '"{\\"refresh_token\\":\\"Zm9vYmFy\\"}"', '"{\\"refresh_token\\":\\"[redacted]\\"}"'],
    [
      'percent-encoded JSON',
      '%7B%22refresh_token%22%3A%22Zm9vYmFy%22%7D',
      '%7B%22refresh_token%22%3A%22[redacted]%22%7D',
    ],
    ['a key-value line', 'client_secret: s3cr3t-value', 'client_secret: [redacted]'],
    ['a credential word with a random value', 'token: 4f9c2a7b1e3d', 'token: [redacted]'],
    // userinfo in URLs
    [
      'userinfo in a URL',
      'GET https://user:hunter2@as.example.com/token',
      'GET https://[redacted]@as.example.com/token',
    ],
    ["a password with ' in a URL", "https://user:p'w%22rd@as.example.com/", 'https://[redacted]@as.example.com/'],
    [
      'a token as the URL user',
      'git https://ghx_0123456789abcdef@github.com/o/r',
      'git https://[redacted]@github.com/o/r',
    ],
    [
      'percent-encoded userinfo',
      'u=https%3A%2F%2Fuser%3Ahunter2%40as.example.com',
      'u=https%3A%2F%2F[redacted]%40as.example.com',
    ],
    // PEM private keys and JWK private members
    ['a private key', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----', '[redacted private key]'],
    [
      'a JSON-escaped RSA key',
      '{"key":"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n-----END RSA PRIVATE KEY-----"}',
      '{"key":"[redacted private key]"}',
    ],
    ['a private key cut off', 'pem: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIDa', 'pem: [redacted private key]'],
    [
      'the private members of a JWK',
      '{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZpt","e":"AQAB","d":"X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH","p":"83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVnwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XOuVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs","q":"3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumqjVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VVS78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb6yelxk","dp":"G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimYwxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8YeiKkTiBj0","dq":"s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUvMfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqUfLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txXw494Q_cgk","qi":"GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia6zTKhAVRU"}',
      '{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZpt","e":"AQAB","d":"[redacted]","p":"[redacted]","q":"[redacted]","dp":"[redacted]","dq":"[redacted]","qi":"[redacted]"}',
    ],
    ['a symmetric JWK', '{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg"}', '{"kty":"oct","k":"[redacted]"}'],
    // vendor tokens with a known prefix
    ['a GitHub personal access token', 'use ghp_16C7e42F292c6912E7710c838347Ae178B4a now', 'use [redacted] now'],
    ['a GitHub OAuth token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', '[redacted]'],
    ['a fine-grained GitHub token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstu', '[redacted]'],
    ['a Slack bot token', 'xoxb-2345678901-3456789012-AbCdEfGhIjKlMnOpQrStUvWx', '[redacted]'],
    ['a Google access token', 'ya29.a0AfH6SMBx-CGnl4SbHkRP4f5_qXm8QzLrAiU2', '[redacted]'],
    ['an OpenAI key', 'sk-proj-AbCdEf0123456789GhIjKl', '[redacted]'],
    ['a Stripe key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', '[redacted]'],
    ['a GitLab token', 'glpat-xxxxxxxxxxxxxxxxxxxx2', '[redacted]'],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE', '[redacted]'],
    // long base64url runs after a credential word
    [
      'a token echoed in prose',
      'bad refresh token Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA',
      'bad refresh token [redacted]',
    ],
    ['a secret echoed in prose', 'the secret is "K7gNU3sdo-OL0wNhqoVWhr3g6s1xYv72ol_pe"', 'the secret is "[redacted]"'],
    ['a key after a colon', 'gateway key: 3q2-7wAAAAD9Lx9mWk2b8nRz4t', 'gateway key: [redacted]'],
  ];
  for (const [label, input, expected] of cases) {
    it(`redacts ${label}`, () => assert.equal(redact(input), expected));
  }

  it('is idempotent: redacting a redacted line changes nothing', () => {
    for (const [, input] of cases) assert.equal(redact(redact(input)), redact(input), input);
  });

  /** Lines the core and the extension really log, and the neighbours of credentials that are none. */
  const ordinary = [
    '[signIn] [split] signed in with authorizationCode (scopes "mcp:read offline_access", refresh token yes)',
    '[refresh] [http://127.0.0.1:7301/mcp] token renewed',
    '[refresh] [https://mcp.example.com/mcp] refresh token rejected (invalid_grant); sign-in needed',
    '[refresh] [x] authorization server unavailable (http_error); keeping the current token until it expires',
    '[discovery] [https://mcp.example.com/mcp] authorization server https://as.example.com (via resource_metadata)',
    '[signIn] [https://mcp.example.com/mcp] authorization request (client dcr, scopes "mcp:read mcp:write")',
    '[signOut] [https://mcp.example.com/mcp] refresh token revoked, access token revoked; deleted locally',
    '[deviceCode] [https://mcp.example.com/mcp] waiting for approval (expires in 600 s)',
    '[gateway] listening on http://127.0.0.1:53123',
    '[gateway] [server-1] serving https://mcp.example.com/mcp',
    '[gateway] [server-1] the server refused the access token (401); renewing it once',
    '[gateway] [server-1] no access token: not_signed_in: Not signed in to this server; sign in first',
    '[gateway] [server-1] the server refused the request (403, "insufficient_scope")',
    '[gateway] [server-1] POST 200 in 1.2 ms',
    '[gateway] [server-1] GET 200 (closed early) in 30512.4 ms',
    '[mcp] [github] resolved to the token gateway',
    '[tools] [github] discovered 12 tools',
    'refresh_failed: The token refresh failed with "invalid_grant" (HTTP 400): "The refresh token is expired"',
    'token_error: The token request failed with "invalid_client" (HTTP 401)',
    'The environment variable MY_CLIENT_SECRET (named by --client-secret-env) is not set',
    'error code: invalid_grant',
    'token: expired',
    'HTTP 401 WWW-Authenticate: Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", error="invalid_token"',
    'WWW-Authenticate: Bearer realm="mcp", scope="mcp:read mcp:write"',
    'token_endpoint: https://as.example.com/oauth2/token, token_type=Bearer expires_in=3600',
    'grant_type=authorization_code&client_id=mcp-oauth&redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Fcallback',
    'code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=af0ifjsldkj',
    'client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    '{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"Sign-in required for github"}}',
    '{"token_type":"Bearer","expires_in":3600,"scope":"mcp:read","has_refresh_token":true}',
    'Mcp-Session-Id: 3b7c2f6e-1d2a-4b5c-9e8f-0a1b2c3d4e5f',
    'issuer https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
    'https://as.example.com/authorize?response_type=code&client_id=abc&scope=openid%20mcp',
    'ssh://git.example.com/repo.git and mailto:alice@example.com',
    'Basic authentication is not supported; use client_secret_post',
    'user code WDJB-MJHT at https://example.com/device',
    'the "d" member of the JWK is missing',
    'HTTP 500 after 3 retries, 2 servers, 41 tokens stored',
  ];
  for (const line of ordinary) {
    it(`leaves alone: ${line}`, () => assert.equal(redact(line), line));
  }

  describe('credential names', () => {
    const credentials = [
      'access_token',
      'refresh_token',
      'id_token',
      'code',
      'code_verifier',
      'device_code',
      'client_secret',
      'client_assertion',
      'assertion',
      'subject_token',
      'actor_token',
      'token',
      'password',
      'api_key',
      'accessToken',
      'refreshToken',
      'idToken',
      'clientSecret',
      'codeVerifier',
      'deviceCode',
      'clientAssertion',
      'subjectToken',
      'refresh-token',
      'client-secret',
      'Authorization',
      'Proxy-Authorization',
      'DPoP',
      'Cookie',
      'Set-Cookie',
      'x-api-key',
      'X-Auth-Token',
      'apiKey',
      'API_KEY',
      'privateKey',
      'registration_access_token',
      'x-mcp-oauth-gateway-key',
    ];
    const others = [
      'token_type',
      'token_endpoint',
      'token_type_hint',
      'expires_in',
      'scope',
      'state',
      'client_id',
      'grant_type',
      'code_challenge',
      'code_challenge_method',
      'client_assertion_type',
      'redirect_uri',
      'user_code',
      'key',
      'monkey',
      'tokens',
      'error',
      'error_description',
      'resource',
      'issuer',
      'keys',
    ];
    for (const name of credentials) it(`${name} is a credential name`, () => assert.ok(isCredentialName(name)));
    for (const name of others) it(`${name} is not`, () => assert.ok(!isCredentialName(name)));
  });
});
