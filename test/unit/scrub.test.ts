import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { toMcpOAuthError } from '../../src/oauth/grants/oauthStep';
import { quote } from '../../src/oauth/errors';
import { safeQuote, secretsInRequest } from '../../src/oauth/http/requestSecrets';
import { MIN_SECRET_LENGTH, scrub } from '../../src/oauth/http/scrub';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');
/** JSON with every non-ASCII character and `/` escaped, as some servers write it. */
const asciiJson = (text: string) =>
  JSON.stringify(text)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)
    .replace(/\//g, '\\/');

describe('scrubbing exact secret values', () => {
  const opaque = '4f9c2a7b1e3d5f60a8b9c0d1e2f3a4b5c6d7e8f9';
  const awkward = 'pä$$ wörd+/=%~"q\\&<é>🔑';
  const forms: [string, (secret: string) => string][] = [
    ['as is', (s) => s],
    ['percent-encoded', (s) => encodeURIComponent(s)],
    ['percent-encoded, lower-case hex', (s) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['percent-encoded twice', (s) => encodeURIComponent(encodeURIComponent(s))],
    ['form-encoded (+ for a space)', (s) => new URLSearchParams([['x', s]]).toString().slice(2)],
    ['base64', (s) => b64(s)],
    ['base64url', (s) => b64url(s)],
    ['base64 at the second byte (the secret in Basic base64(id:secret))', (s) => b64(`c:${s}`)],
    ['base64 at the third byte', (s) => b64(`cl:${s}`)],
    ['form-encoded, then base64 (RFC 6749 Basic)', (s) => b64(`client:${encodeURIComponent(s).replace(/%20/g, '+')}`)],
    ['percent-encoded base64', (s) => encodeURIComponent(b64(`x:${s}`))],
    ['JSON-escaped', (s) => JSON.stringify(s).slice(1, -1)],
    ['JSON-escaped, ASCII only', (s) => asciiJson(s)],
    ['JSON inside JSON', (s) => JSON.stringify(JSON.stringify(s)).slice(1, -1)],
    [
      'HTML-escaped',
      (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
    ],
    ['upper-cased', (s) => s.toUpperCase()],
  ];
  for (const [name, form] of forms) {
    for (const secret of [opaque, awkward]) {
      it(`removes ${JSON.stringify(secret)} ${name}`, () => {
        const echoed = form(secret);
        const out = scrub(`invalid_grant: bad token ${echoed}, try again`, [secret]);
        assert.ok(!out.includes(echoed), out);
        assert.ok(out.includes('[redacted]') && out.startsWith('invalid_grant: bad token '), out);
        assert.ok(out.endsWith(', try again') || name.startsWith('base64'), out);
      });
    }
  }

  it('removes every occurrence, of every secret, and a secret that contains another whole', () => {
    const inner = 'inner-secret-0001';
    const outer = `outer-${inner}-outer`;
    const out = scrub(`${outer} ${inner} ${opaque} ${opaque}`, [inner, outer, opaque]);
    assert.equal(out, '[redacted] [redacted] [redacted] [redacted]');
  });

  it(`leaves values shorter than ${MIN_SECRET_LENGTH} characters, and missing ones, alone`, () => {
    const text = 'scope mcp read 1234567, 7 servers';
    assert.equal(scrub(text, ['mcp', 'read', '1234567', '7', '', undefined]), text);
    assert.equal(scrub(text, []), text);
  });

  it('leaves a text without any of the secrets as it was', () => {
    const text = '[gateway] [server-1] POST 200 in 1.2 ms, "é" \\u00e9 %2F';
    assert.equal(scrub(text, [opaque, awkward]), text);
  });

  it('safeQuote scrubs before quote() bounds the text, so no cut leaves the first part of a secret', () => {
    const text = `${'x'.repeat(190)} ${opaque} tail`;
    const quoted = safeQuote(text, [opaque]);
    assert.ok(!quoted.includes(opaque.slice(0, 9)), quoted);
    // …whereas quoting first and scrubbing after leaves the first 9 characters of it behind:
    assert.ok(scrub(quote(text), [opaque]).includes(opaque.slice(0, 9)));
  });

  it('safeQuote takes secrets by name too', () => {
    const quoted = safeQuote(`echo ${opaque} and ${awkward}`, { refreshToken: opaque, clientSecret: awkward });
    assert.ok(!quoted.includes(opaque) && !quoted.includes(JSON.stringify(awkward).slice(1, -1)), quoted);
  });
});

describe('the credentials a request carries (secretsInRequest)', () => {
  it('reads credential parameters from a form body, credential headers, and the secret inside Basic', () => {
    const secret = 's3cr3t value/+';
    const basic = b64(`client-1:${encodeURIComponent(secret).replace(/%20/g, '+')}`);
    const found = secretsInRequest('https://as.example.com/token?api_key=query-key-0001', {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        dpop: 'eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln',
        accept: 'application/json',
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'refresh-token-0001',
        code_verifier: 'verifier-0001',
        client_assertion: 'assertion-0001',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_id: 'client-1',
        scope: 'mcp:read',
      }),
    });
    for (const value of [
      'query-key-0001',
      `Basic ${basic}`,
      basic,
      secret,
      'eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln',
      'refresh-token-0001',
      'verifier-0001',
      'assertion-0001',
    ]) {
      assert.ok(found.includes(value), `${value} in ${JSON.stringify(found)}`);
    }
    for (const value of ['refresh_token', 'client-1', 'mcp:read', 'application/json']) {
      assert.ok(!found.includes(value), `${value} is no secret`);
    }
  });

  it('reads a form string, and credential members anywhere in a JSON body', () => {
    assert.deepEqual(secretsInRequest('https://as.example.com/revoke', { body: 'token=tok-0001&token_type_hint=x' }), [
      'tok-0001',
    ]);
    const json = JSON.stringify({ client_name: 'x', nested: { clientSecret: 'nested-0001' }, software_id: 'y' });
    assert.deepEqual(secretsInRequest('https://as.example.com/register', { body: json }), ['nested-0001']);
  });
});

describe('toMcpOAuthError with the secrets its caller names', () => {
  it('scrubs them from the message and the OAuth error code, even when the transport noted nothing', async () => {
    const accessToken = 'access-token-not-in-this-request-0001';
    const response = new Response(
      JSON.stringify({ error: accessToken, error_description: `we saw ${b64(accessToken)} here` }),
      { status: 400, headers: { 'content-type': 'application/json' } },
    );
    const as = { issuer: 'https://as.example.com', token_endpoint: 'https://as.example.com/token' };
    const caught = await oauth.processRefreshTokenResponse(as, { client_id: 'c' }, response).catch((e: unknown) => e);
    const error = toMcpOAuthError(caught, 'The token refresh', 'refresh_failed', { accessToken });
    assert.ok(!error.message.includes(accessToken) && !error.message.includes(b64(accessToken)), error.message);
    assert.equal((error as { error?: string }).error, '[redacted]');
    const unscrubbed = toMcpOAuthError(caught, 'The token refresh', 'refresh_failed');
    assert.ok(unscrubbed.message.includes(b64(accessToken)), 'the caller named the secret, not the transport');
  });
});
