import assert from 'node:assert/strict';
import { bearerChallenge, parseWwwAuthenticate, type AuthChallenge } from '../../src/oauth/discovery/challenge';
import { McpOAuthError } from '../../src/oauth/errors';
import { RetryPolicy } from '../../src/mcp/retryPolicy';

const headers = (...values: string[]): Headers =>
  new Headers(values.map((v): [string, string] => ['www-authenticate', v]));

describe('parseWwwAuthenticate', () => {
  const wellFormed: { name: string; header: string; expected: AuthChallenge[] }[] = [
    {
      name: 'RFC 6750 §3: a bare realm',
      header: 'Bearer realm="example"',
      expected: [{ scheme: 'bearer', params: { realm: 'example' } }],
    },
    {
      name: 'RFC 6750 §3: an expired token',
      header: 'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
      expected: [
        {
          scheme: 'bearer',
          params: { realm: 'example', error: 'invalid_token', error_description: 'The access token expired' },
        },
      ],
    },
    {
      name: 'RFC 6750 §3.1: insufficient scope',
      header: 'Bearer error="insufficient_scope", scope="files:read files:write"',
      expected: [{ scheme: 'bearer', params: { error: 'insufficient_scope', scope: 'files:read files:write' } }],
    },
    {
      name: 'RFC 9728 §5.1: resource_metadata',
      header: 'Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource"',
      expected: [
        {
          scheme: 'bearer',
          params: { resource_metadata: 'https://resource.example.com/.well-known/oauth-protected-resource' },
        },
      ],
    },
    {
      name: 'a scheme with no parameters',
      header: 'Bearer',
      expected: [{ scheme: 'bearer', params: {} }],
    },
    {
      name: 'Basic then Bearer',
      header: 'Basic realm="simple", Bearer realm="api", scope="a b"',
      expected: [
        { scheme: 'basic', params: { realm: 'simple' } },
        { scheme: 'bearer', params: { realm: 'api', scope: 'a b' } },
      ],
    },
    {
      name: 'Bearer then Basic',
      header: 'Bearer error="invalid_token", Basic realm="simple"',
      expected: [
        { scheme: 'bearer', params: { error: 'invalid_token' } },
        { scheme: 'basic', params: { realm: 'simple' } },
      ],
    },
    {
      name: 'the RFC 9110 §11.6.1 example',
      header: 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      expected: [
        { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        { scheme: 'basic', params: { realm: 'simple' } },
      ],
    },
    {
      name: 'three challenges, one of them parameterless',
      header: 'Negotiate, Basic realm="x", Bearer',
      expected: [
        { scheme: 'negotiate', params: {} },
        { scheme: 'basic', params: { realm: 'x' } },
        { scheme: 'bearer', params: {} },
      ],
    },
    {
      name: 'a quoted string with escaped quotes and a comma',
      header: 'Bearer error_description="say \\"hi\\", then leave", realm="r"',
      expected: [{ scheme: 'bearer', params: { error_description: 'say "hi", then leave', realm: 'r' } }],
    },
    {
      name: 'an escaped backslash and an escaped ordinary character',
      header: 'Bearer realm="a\\\\b\\c"',
      expected: [{ scheme: 'bearer', params: { realm: 'a\\bc' } }],
    },
    {
      name: 'a quoted string that looks like another challenge',
      header: 'Bearer error_description="x\\", Basic realm=\\"y", scope="s"',
      expected: [{ scheme: 'bearer', params: { error_description: 'x", Basic realm="y', scope: 's' } }],
    },
    {
      name: 'an empty quoted string',
      header: 'Bearer realm=""',
      expected: [{ scheme: 'bearer', params: { realm: '' } }],
    },
    {
      name: 'token (unquoted) parameter values',
      header: 'Bearer error=invalid_token, scope=read',
      expected: [{ scheme: 'bearer', params: { error: 'invalid_token', scope: 'read' } }],
    },
    {
      name: 'a token68 credential',
      header: 'Negotiate YIIBnQYGKwYBBQUCoIIBkTCCAY2gJDAiBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICCg==',
      expected: [
        {
          scheme: 'negotiate',
          params: {},
          token68: 'YIIBnQYGKwYBBQUCoIIBkTCCAY2gJDAiBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICCg==',
        },
      ],
    },
    {
      name: 'a token68 followed by a Bearer challenge',
      header: 'Basic dXNlcjpwYXNz=, Bearer scope="mcp"',
      expected: [
        { scheme: 'basic', params: {}, token68: 'dXNlcjpwYXNz=' },
        { scheme: 'bearer', params: { scope: 'mcp' } },
      ],
    },
    {
      name: 'case-insensitive scheme and parameter names; values keep their case',
      header: 'BEARER Realm="Example", ERROR="Invalid_Token", Scope="Read"',
      expected: [{ scheme: 'bearer', params: { realm: 'Example', error: 'Invalid_Token', scope: 'Read' } }],
    },
    {
      name: 'whitespace around "=" and empty list elements',
      header: '  Bearer realm = "r" , , scope= "s" ,, Basic realm="b"  ',
      expected: [
        { scheme: 'bearer', params: { realm: 'r', scope: 's' } },
        { scheme: 'basic', params: { realm: 'b' } },
      ],
    },
    {
      name: 'the same parameter in two different challenges',
      header: 'Basic realm="one", Bearer realm="two"',
      expected: [
        { scheme: 'basic', params: { realm: 'one' } },
        { scheme: 'bearer', params: { realm: 'two' } },
      ],
    },
    {
      name: 'an empty header',
      header: '',
      expected: [],
    },
  ];
  for (const { name, header, expected } of wellFormed) {
    it(`parses ${name}`, () => {
      assert.deepEqual(parseWwwAuthenticate(header), expected);
    });
  }

  const malformed: { name: string; header: string }[] = [
    { name: 'an unterminated quoted string', header: 'Bearer realm="example' },
    { name: 'an unterminated quoted string ending in an escaped quote', header: 'Bearer realm="example\\"' },
    { name: 'an unterminated quoted string ending in a backslash', header: 'Bearer realm="example\\' },
    { name: 'an unterminated quote in a later challenge', header: 'Basic realm="a", Bearer scope="mcp' },
    { name: 'a duplicate parameter', header: 'Bearer realm="a", realm="b"' },
    { name: 'a duplicate parameter differing only in case', header: 'Bearer scope="a", SCOPE="b"' },
    { name: 'a parameter with no value', header: 'Bearer scope="a", realm=' },
    { name: 'a parameter with no value before the next one', header: 'Bearer realm=, scope="a"' },
    { name: 'parameters without a separating comma', header: 'Bearer realm="a" scope="b"' },
    { name: 'a header starting with a quoted string', header: '"Bearer" realm="a"' },
    { name: 'a header starting with "="', header: '=Bearer' },
    {
      name: 'an unquoted value with characters outside token',
      header: 'Bearer resource_metadata=https://example.com/x',
    },
    { name: 'a parameter after a token68', header: 'Bearer abc, realm="x"' },
  ];
  for (const { name, header } of malformed) {
    it(`throws invalid_challenge on ${name}`, () => {
      assert.throws(
        () => parseWwwAuthenticate(header),
        (error: unknown) => {
          assert.ok(error instanceof McpOAuthError);
          assert.equal(error.code, 'invalid_challenge');
          return true;
        },
      );
    });
  }
});

describe('bearerChallenge', () => {
  it('returns undefined without a WWW-Authenticate header', () => {
    assert.equal(bearerChallenge(new Headers()), undefined);
  });

  it('returns undefined when only other schemes are offered', () => {
    assert.equal(bearerChallenge(headers('Basic realm="x", Negotiate')), undefined);
  });

  it('returns an empty challenge for a bare Bearer', () => {
    assert.deepEqual(bearerChallenge(headers('Bearer')), {});
  });

  it('reads the RFC 6750 error example', () => {
    assert.deepEqual(
      bearerChallenge(
        headers('Bearer realm="example", error="invalid_token", error_description="The access token expired"'),
      ),
      {
        error: 'invalid_token',
        errorDescription: 'The access token expired',
      },
    );
  });

  it("splits the scope on spaces, keeping the server's order and dropping empty entries", () => {
    assert.deepEqual(
      bearerChallenge(headers('Bearer error="insufficient_scope", scope="  files:write   files:read  mcp "')),
      {
        error: 'insufficient_scope',
        scopes: ['files:write', 'files:read', 'mcp'],
      },
    );
  });

  it('omits scopes when the scope parameter is empty', () => {
    assert.deepEqual(bearerChallenge(headers('Bearer scope="   "')), {});
  });

  it('reads resource_metadata', () => {
    const url = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
    assert.deepEqual(bearerChallenge(headers(`Bearer resource_metadata="${url}", scope="mcp"`)), {
      scopes: ['mcp'],
      resourceMetadataUrl: url,
    });
  });

  it('finds the Bearer challenge after a Basic one, with case-insensitive names', () => {
    assert.deepEqual(
      bearerChallenge(headers('Basic realm="legacy", bEaReR Scope="a b", Resource_Metadata="https://m.example/prm"')),
      {
        scopes: ['a', 'b'],
        resourceMetadataUrl: 'https://m.example/prm',
      },
    );
  });

  it('combines several WWW-Authenticate header fields', () => {
    assert.deepEqual(
      bearerChallenge(headers('Basic realm="legacy"', 'Bearer scope="mcp", error="insufficient_scope"')),
      {
        error: 'insufficient_scope',
        scopes: ['mcp'],
      },
    );
  });

  it('unescapes quoted values', () => {
    assert.deepEqual(
      bearerChallenge(headers('Bearer error="invalid_token", error_description="token \\"abc\\" expired, sign in"')),
      {
        error: 'invalid_token',
        errorDescription: 'token "abc" expired, sign in',
      },
    );
  });

  const malformed = [
    'Bearer realm="unterminated',
    'Bearer scope="a", scope="b"',
    'Basic realm="x", Bearer scope="mcp", Scope="admin"',
    'Bearer realm="a" scope="b"',
  ];
  for (const header of malformed) {
    it(`treats a malformed header as no challenge: ${JSON.stringify(header)}`, () => {
      assert.equal(bearerChallenge(headers(header)), undefined);
    });
  }
});

describe('bearerChallenge with the DPoP scheme (RFC 9449 §7.1)', () => {
  it('reads a DPoP challenge like a Bearer one, with its algs', () => {
    const url = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
    assert.deepEqual(
      bearerChallenge(
        headers(
          `DPoP error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="${url}", algs="ES256 PS256"`,
        ),
      ),
      {
        error: 'insufficient_scope',
        scopes: ['mcp:read', 'mcp:write'],
        resourceMetadataUrl: url,
        dpop: { algs: ['ES256', 'PS256'] },
      },
    );
  });

  it('notes a DPoP challenge without algs, and one offered next to Bearer', () => {
    assert.deepEqual(bearerChallenge(headers('DPoP')), { dpop: {} });
    assert.deepEqual(bearerChallenge(headers('Bearer scope="mcp", DPoP algs="ES256"')), {
      scopes: ['mcp'],
      dpop: { algs: ['ES256'] },
    });
    assert.deepEqual(bearerChallenge(headers('Bearer scope="mcp"', 'dpop algs="EdDSA"')), {
      scopes: ['mcp'],
      dpop: { algs: ['EdDSA'] },
    });
  });

  it('takes the fields of the challenge that names an error: the DPoP nonce request next to a plain Bearer one', () => {
    assert.deepEqual(
      bearerChallenge(headers('Bearer realm="mcp", DPoP error="use_dpop_nonce", error_description="nonce"')),
      { error: 'use_dpop_nonce', errorDescription: 'nonce', dpop: {} },
    );
    assert.deepEqual(bearerChallenge(headers('Bearer error="invalid_token", DPoP error="use_dpop_nonce"')), {
      error: 'invalid_token',
      dpop: {},
    });
  });

  it('treats a malformed header with a DPoP challenge as no challenge', () => {
    assert.equal(bearerChallenge(headers('DPoP algs="ES256", algs="PS256"')), undefined);
  });
});

describe('RetryPolicy and DPoP', () => {
  const nonce = { error: 'use_dpop_nonce', dpop: {} };

  it('retries a 401 use_dpop_nonce once with the new nonce, then renews as for any 401', () => {
    const policy = new RetryPolicy({ signIn: true, stepUp: true });
    assert.equal(policy.next(401, nonce, true, true), 'nonce');
    assert.equal(policy.next(401, nonce, true, true), 'refresh', 'only once');
    assert.equal(policy.next(401, nonce, false, true), 'signIn');
  });

  it('does not retry for a nonce when there is none to retry with, or no proof was sent', () => {
    assert.equal(new RetryPolicy({ signIn: false, stepUp: false }).next(401, nonce, true, false), 'refresh');
    assert.equal(new RetryPolicy({ signIn: false, stepUp: false }).next(401, nonce, false, true), undefined);
  });

  it('steps up on a DPoP insufficient_scope as on a Bearer one', () => {
    const policy = new RetryPolicy({ signIn: true, stepUp: true });
    assert.equal(policy.next(403, { error: 'insufficient_scope', scopes: ['a'], dpop: {} }, true), 'stepUp');
  });
});
