import assert from 'node:assert/strict';
import { authServerMetadataUrls } from '../../src/oauth/discovery/authServerMetadata';
import { McpOAuthError, type ErrorCode } from '../../src/oauth/errors';
import { resourceMetadataUrls } from '../../src/oauth/discovery/resourceMetadata';
import { resourceCovers } from '../../src/oauth/http/url';
import { Scopes, selectScopes, type ScopeSources } from '../../src/oauth/tokens/scopes';
import { canonicalServerUrl, describeUrl, isLoopbackHost, secureUrl } from '../../src/oauth/http/url';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof McpOAuthError, `expected an McpOAuthError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

describe('isLoopbackHost', () => {
  const table: [string, boolean][] = [
    ['localhost', true],
    ['LocalHost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['127.255.255.254', true],
    ['::1', true],
    ['[::1]', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['0.0.0.0', false],
    ['example.com', false],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io', false],
    ['evil-127.0.0.1', false],
    ['notlocalhost', false],
    ['[::2]', false],
    ['::ffff:127.0.0.1', false],
    ['', false],
  ];
  for (const [host, expected] of table) {
    it(`${JSON.stringify(host)} → ${expected}`, () => {
      assert.equal(isLoopbackHost(host), expected);
    });
  }
});

describe('secureUrl', () => {
  const accepted: [string, string][] = [
    ['https://example.com', 'https://example.com/'],
    ['https://example.com:8443/mcp?x=1', 'https://example.com:8443/mcp?x=1'],
    ['HTTPS://EXAMPLE.COM/Path', 'https://example.com/Path'],
    ['http://127.0.0.1:3000/mcp', 'http://127.0.0.1:3000/mcp'],
    ['http://localhost/mcp', 'http://localhost/mcp'],
    ['http://[::1]:8080/', 'http://[::1]:8080/'],
    ['http://127.1/', 'http://127.0.0.1/'],
  ];
  for (const [input, href] of accepted) {
    it(`accepts ${input}`, () => {
      assert.equal(secureUrl(input, 'test URL').href, href);
    });
  }

  const refused: [unknown, ErrorCode][] = [
    ['http://example.com/mcp', 'insecure_url'],
    ['http://localhost.example.com/', 'insecure_url'],
    ['http://127.0.0.1.nip.io/', 'insecure_url'],
    ['http://10.0.0.1/', 'insecure_url'],
    ['javascript:alert(1)', 'insecure_url'],
    ['JavaScript:alert(document.cookie)//https://example.com', 'insecure_url'],
    ['file:///etc/passwd', 'insecure_url'],
    ['data:text/html,<script>alert(1)</script>', 'insecure_url'],
    ['ftp://example.com/', 'insecure_url'],
    ['ws://127.0.0.1/', 'insecure_url'],
    ['/relative/path', 'invalid_url'],
    ['example.com/mcp', 'invalid_url'],
    ['//example.com/mcp', 'invalid_url'],
    ['', 'invalid_url'],
    [42, 'invalid_url'],
    [undefined, 'invalid_url'],
    [['https://example.com'], 'invalid_url'],
    ['https://example.com/mcp#fragment', 'invalid_url'],
    ['http://127.0.0.1/cb#x', 'invalid_url'],
    ['https://user:password@example.com/', 'invalid_url'],
    ['https://user@example.com/', 'invalid_url'],
    ['http://user:pw@localhost/', 'invalid_url'],
  ];
  for (const [input, code] of refused) {
    it(`refuses ${JSON.stringify(input)} with ${code}`, () => {
      throwsCode(() => secureUrl(input, 'test URL'), code);
    });
  }

  it('names the field in the message', () => {
    assert.throws(() => secureUrl('http://example.com', 'auth.authorizationServer'), /auth\.authorizationServer/);
  });
});

describe('canonicalServerUrl', () => {
  const table: [string, string][] = [
    ['https://example.com', 'https://example.com/'],
    ['https://example.com/', 'https://example.com/'],
    ['HTTPS://Example.COM:443/mcp', 'https://example.com/mcp'],
    ['https://example.com/mcp/', 'https://example.com/mcp'],
    ['https://example.com/a/b/', 'https://example.com/a/b'],
    ['https://example.com:8443/mcp', 'https://example.com:8443/mcp'],
    ['https://example.com/mcp?tenant=1', 'https://example.com/mcp?tenant=1'],
    ['https://example.com/mcp/?tenant=1', 'https://example.com/mcp/?tenant=1'],
    ['https://example.com/mcp#', 'https://example.com/mcp'],
    ['https://example.com/a/../mcp', 'https://example.com/mcp'],
    ['http://LOCALHOST:80/mcp/', 'http://localhost/mcp'],
    ['http://127.0.0.1:3000/mcp', 'http://127.0.0.1:3000/mcp'],
  ];
  for (const [input, expected] of table) {
    it(`${input} → ${expected}`, () => {
      assert.equal(canonicalServerUrl(input), expected);
    });
  }

  it('gives the same key for spellings of one server', () => {
    const keys = new Set(
      ['https://Example.com/mcp', 'https://example.com:443/mcp/', 'HTTPS://EXAMPLE.COM/mcp'].map(canonicalServerUrl),
    );
    assert.deepEqual([...keys], ['https://example.com/mcp']);
  });

  const refused: [string, ErrorCode][] = [
    ['http://example.com/mcp', 'insecure_url'],
    ['javascript:alert(1)', 'insecure_url'],
    ['mcp.example.com', 'invalid_url'],
    ['https://example.com/mcp#section', 'invalid_url'],
    ['https://u:p@example.com/mcp', 'invalid_url'],
  ];
  for (const [input, code] of refused) {
    it(`refuses ${input} with ${code}`, () => {
      throwsCode(() => canonicalServerUrl(input), code);
    });
  }
});

describe('describeUrl', () => {
  const table: [string | URL, string][] = [
    ['https://as.example/callback?code=SECRET-CODE&state=SECRET-STATE', 'https://as.example/callback'],
    ['https://as.example/callback?code=SECRET-CODE#frag', 'https://as.example/callback'],
    ['https://user:SECRET-PW@as.example/token', 'https://as.example/token'],
    [new URL('http://127.0.0.1:9000/cb?code=SECRET-CODE'), 'http://127.0.0.1:9000/cb'],
    ['not a url ?code=SECRET-CODE', '<invalid url>'],
  ];
  for (const [input, expected] of table) {
    it(`${String(input)} → ${expected}`, () => {
      const text = describeUrl(input);
      assert.equal(text, expected);
      assert.ok(!text.includes('SECRET'), text);
      assert.ok(!text.includes('?'), text);
    });
  }
});

describe('Scopes', () => {
  it('is a sorted set', () => {
    assert.deepEqual(Scopes.of(['write', 'read', 'write', 'admin']).values, ['admin', 'read', 'write']);
  });

  it('splits space-separated entries and drops empty ones', () => {
    assert.deepEqual(Scopes.of(['b a', '', ' c ']).values, ['a', 'b', 'c']);
  });

  it('parses a scope string', () => {
    assert.deepEqual(Scopes.parse('  openid  mcp:tools offline_access ').values, [
      'mcp:tools',
      'offline_access',
      'openid',
    ]);
  });

  it('is empty for nothing', () => {
    for (const scopes of [
      Scopes.of(undefined),
      Scopes.of([]),
      Scopes.parse(undefined),
      Scopes.parse(''),
      Scopes.parse('   '),
    ]) {
      assert.equal(scopes.isEmpty, true);
      assert.equal(scopes.toString(), '');
      assert.deepEqual(scopes.values, []);
    }
  });

  it('has a canonical string form independent of input order', () => {
    assert.equal(Scopes.parse('b a c').toString(), 'a b c');
    assert.equal(Scopes.of(['c', 'a', 'b']).toString(), Scopes.parse('a b c').toString());
  });

  it('answers has, union and covers', () => {
    const scopes = Scopes.of(['read', 'write']);
    assert.equal(scopes.has('read'), true);
    assert.equal(scopes.has('rea'), false);
    assert.deepEqual(scopes.union(['admin', 'read']).values, ['admin', 'read', 'write']);
    assert.deepEqual(scopes.union(Scopes.of(['x'])).values, ['read', 'write', 'x']);
    assert.equal(scopes.covers(Scopes.of(['read'])), true);
    assert.equal(scopes.covers(Scopes.of([])), true);
    assert.equal(scopes.covers(Scopes.of(['read', 'admin'])), false);
  });

  it('does not change when a union is taken', () => {
    const scopes = Scopes.of(['a']);
    scopes.union(['b']);
    assert.deepEqual(scopes.values, ['a']);
  });
});

describe('selectScopes', () => {
  const table: { name: string; sources: ScopeSources; expected: string[] }[] = [
    {
      name: 'configured wins over everything',
      sources: { configured: ['cfg'], challenged: ['chal'], resourceSupported: ['prm'] },
      expected: ['cfg'],
    },
    {
      name: 'the challenge wins over scopes_supported',
      sources: { challenged: ['chal', 'two'], resourceSupported: ['prm'] },
      expected: ['chal', 'two'],
    },
    {
      name: 'empty configured scopes fall through to the challenge',
      sources: { configured: [], challenged: ['chal'], resourceSupported: ['prm'] },
      expected: ['chal'],
    },
    {
      name: 'an empty challenge falls through to scopes_supported',
      sources: { challenged: [], resourceSupported: ['prm', 'other'] },
      expected: ['other', 'prm'],
    },
    { name: 'nothing anywhere: the parameter is omitted', sources: {}, expected: [] },
    { name: 'empty scopes_supported: omitted', sources: { resourceSupported: [] }, expected: [] },
    {
      name: 'AS scopes_supported alone is not a source',
      sources: { authServerSupported: ['openid', 'email'] },
      expected: [],
    },
    {
      name: 'nothing selected: offline_access alone is not requested',
      sources: { authServerSupported: ['offline_access'], wantRefresh: true },
      expected: [],
    },
    {
      name: 'offline_access added when the AS lists it and refresh is wanted',
      sources: { challenged: ['mcp'], authServerSupported: ['mcp', 'offline_access'], wantRefresh: true },
      expected: ['mcp', 'offline_access'],
    },
    {
      name: 'offline_access not added when refresh is not wanted',
      sources: { challenged: ['mcp'], authServerSupported: ['offline_access'], wantRefresh: false },
      expected: ['mcp'],
    },
    {
      name: 'offline_access not added when the AS does not list it',
      sources: { challenged: ['mcp'], authServerSupported: ['mcp'], wantRefresh: true },
      expected: ['mcp'],
    },
    {
      name: 'offline_access not added when the AS lists no scopes',
      sources: { resourceSupported: ['mcp'], wantRefresh: true },
      expected: ['mcp'],
    },
    {
      name: 'configured offline_access dropped when the AS does not list it',
      sources: { configured: ['mcp', 'offline_access'], authServerSupported: ['mcp'] },
      expected: ['mcp'],
    },
    {
      name: 'configured offline_access kept when the AS lists it',
      sources: { configured: ['mcp', 'offline_access'], authServerSupported: ['offline_access'] },
      expected: ['mcp', 'offline_access'],
    },
    {
      name: 'scopes_supported offline_access dropped when the AS does not list it',
      sources: { resourceSupported: ['offline_access', 'read'] },
      expected: ['read'],
    },
    { name: 'duplicates and order are normalised', sources: { challenged: ['b', 'a', 'b'] }, expected: ['a', 'b'] },
  ];
  for (const { name, sources, expected } of table) {
    it(name, () => {
      const scopes = selectScopes(sources);
      assert.ok(scopes instanceof Scopes);
      assert.deepEqual(scopes.values, expected);
    });
  }
});

describe('resourceMetadataUrls (RFC 9728 §3.1, MCP discovery order)', () => {
  const table: { server: string; challenge?: string; expected: string[] }[] = [
    {
      server: 'https://mcp.example.com/public/mcp',
      expected: [
        'https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp',
        'https://mcp.example.com/.well-known/oauth-protected-resource',
      ],
    },
    {
      server: 'https://mcp.example.com/mcp/',
      expected: [
        'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        'https://mcp.example.com/.well-known/oauth-protected-resource',
      ],
    },
    { server: 'https://mcp.example.com/', expected: ['https://mcp.example.com/.well-known/oauth-protected-resource'] },
    { server: 'https://mcp.example.com', expected: ['https://mcp.example.com/.well-known/oauth-protected-resource'] },
    {
      server: 'http://127.0.0.1:3000/mcp',
      expected: [
        'http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp',
        'http://127.0.0.1:3000/.well-known/oauth-protected-resource',
      ],
    },
    {
      server: 'https://mcp.example.com/mcp',
      challenge: 'https://mcp.example.com/meta/prm.json',
      expected: [
        'https://mcp.example.com/meta/prm.json',
        'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        'https://mcp.example.com/.well-known/oauth-protected-resource',
      ],
    },
    {
      server: 'https://mcp.example.com/mcp',
      challenge: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
      expected: [
        'https://mcp.example.com/.well-known/oauth-protected-resource/mcp',
        'https://mcp.example.com/.well-known/oauth-protected-resource',
      ],
    },
  ];
  for (const { server, challenge, expected } of table) {
    it(`${server}${challenge ? ` with resource_metadata ${challenge}` : ''}`, () => {
      assert.deepEqual(resourceMetadataUrls(server, challenge), expected);
    });
  }

  const hostileChallenges: [string, ErrorCode][] = [
    ['http://evil.example/prm', 'insecure_url'],
    ['javascript:alert(1)', 'insecure_url'],
    ['file:///etc/passwd', 'insecure_url'],
    ['/relative/prm', 'invalid_url'],
    ['https://evil.example/prm#x', 'invalid_url'],
    ['https://user:pw@evil.example/prm', 'invalid_url'],
    // Security property 6: only the server's origin (auth.resourceMetadataUrl names any other).
    ['https://meta.example.com/prm.json', 'invalid_challenge'],
    ['https://mcp.example.com:8443/prm.json', 'invalid_challenge'],
    ['http://127.0.0.1:8080/prm', 'invalid_challenge'],
    ['https://169.254.169.254/latest/meta-data/', 'invalid_challenge'],
  ];
  for (const [challenge, code] of hostileChallenges) {
    it(`refuses a challenge resource_metadata of ${challenge} with ${code}`, () => {
      throwsCode(() => resourceMetadataUrls('https://mcp.example.com/mcp', challenge), code);
    });
  }
});

describe('authServerMetadataUrls (RFC 8414 §3.1, OIDC Discovery, MCP order)', () => {
  const table: { issuer: string; expected: string[] }[] = [
    {
      issuer: 'https://auth.example.com/tenant1',
      expected: [
        'https://auth.example.com/.well-known/oauth-authorization-server/tenant1',
        'https://auth.example.com/.well-known/openid-configuration/tenant1',
        'https://auth.example.com/tenant1/.well-known/openid-configuration',
      ],
    },
    {
      issuer: 'https://auth.example.com/realms/mcp/',
      expected: [
        'https://auth.example.com/.well-known/oauth-authorization-server/realms/mcp',
        'https://auth.example.com/.well-known/openid-configuration/realms/mcp',
        'https://auth.example.com/realms/mcp/.well-known/openid-configuration',
      ],
    },
    {
      issuer: 'https://auth.example.com',
      expected: [
        'https://auth.example.com/.well-known/oauth-authorization-server',
        'https://auth.example.com/.well-known/openid-configuration',
      ],
    },
    {
      issuer: 'https://auth.example.com/',
      expected: [
        'https://auth.example.com/.well-known/oauth-authorization-server',
        'https://auth.example.com/.well-known/openid-configuration',
      ],
    },
    {
      issuer: 'http://localhost:9000',
      expected: [
        'http://localhost:9000/.well-known/oauth-authorization-server',
        'http://localhost:9000/.well-known/openid-configuration',
      ],
    },
  ];
  for (const { issuer, expected } of table) {
    it(issuer, () => {
      assert.deepEqual(authServerMetadataUrls(issuer), expected);
    });
  }

  const refused: [string, ErrorCode][] = [
    ['http://auth.example.com', 'insecure_url'],
    ['javascript:alert(1)', 'insecure_url'],
    ['auth.example.com', 'invalid_url'],
  ];
  for (const [issuer, code] of refused) {
    it(`refuses the issuer ${issuer} with ${code}`, () => {
      throwsCode(() => authServerMetadataUrls(issuer), code);
    });
  }
});

describe('resourceCovers', () => {
  const table: [resource: string, server: string, expected: boolean][] = [
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp', true],
    ['https://mcp.example.com/mcp/', 'https://mcp.example.com/mcp', true],
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp/', true],
    ['https://mcp.example.com', 'https://mcp.example.com/mcp', true],
    ['https://mcp.example.com/', 'https://mcp.example.com/a/b/mcp', true],
    ['https://mcp.example.com/a', 'https://mcp.example.com/a/b/mcp', true],
    ['HTTPS://MCP.example.com:443/mcp', 'https://mcp.example.com/mcp', true],
    ['https://mcp.example.com/mc', 'https://mcp.example.com/mcp', false],
    ['https://mcp.example.com/other', 'https://mcp.example.com/mcp', false],
    ['https://mcp.example.com/mcp/child', 'https://mcp.example.com/mcp', false],
    ['https://evil.example.com/mcp', 'https://mcp.example.com/mcp', false],
    ['https://mcp.example.com.evil.example/mcp', 'https://mcp.example.com/mcp', false],
    ['http://mcp.example.com/mcp', 'https://mcp.example.com/mcp', false],
    ['https://mcp.example.com:8443/mcp', 'https://mcp.example.com/mcp', false],
    ['https://mcp.example.com/mcp?x=1', 'https://mcp.example.com/mcp', false],
    ['https://mcp.example.com/mcp#x', 'https://mcp.example.com/mcp', false],
    ['/mcp', 'https://mcp.example.com/mcp', false],
    ['not a url', 'https://mcp.example.com/mcp', false],
  ];
  for (const [resource, server, expected] of table) {
    it(`${resource} for ${server} → ${expected}`, () => {
      assert.equal(resourceCovers(resource, server), expected);
    });
  }
});
