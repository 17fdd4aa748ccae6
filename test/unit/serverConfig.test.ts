import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { McpOAuthError } from '../../src/oauth/errors';
import { parseEnterpriseIdp, parseServers, parseSettings, slug } from '../../src/vscode/model/serverConfig';

describe('mcpOAuth.servers validation', () => {
  it('accepts a typical list of entries and derives the id from the name', () => {
    const { servers, invalid } = parseServers([
      { name: 'Linear', url: 'https://mcp.linear.app/mcp' },
      {
        name: 'Entra',
        url: 'https://mcp.contoso.com/mcp/',
        id: 'entra',
        auth: {
          flow: 'authorizationCode',
          clientId: 'abc',
          scopes: ['api://x/.default'],
          resource: false,
          redirect: 'loopback',
          loopbackPort: 33418,
          tokenEndpointAuthMethod: 'none',
        },
      },
      {
        name: 'Local tool',
        url: 'http://127.0.0.1:7301/mcp',
        transport: 'stdio',
        command: 'node',
        args: ['s.js'],
        env: { A: '1' },
        tokenEnv: 'API_TOKEN',
      },
    ]);
    assert.deepEqual(invalid, []);
    assert.deepEqual(
      servers.map((s) => s.id),
      ['linear', 'entra', 'local-tool'],
    );
    assert.equal(servers[1]!.url, 'https://mcp.contoso.com/mcp', 'canonical URL');
    assert.equal(servers[1]!.auth.resource, false);
    assert.equal(servers[1]!.auth.redirect, 'loopback');
    assert.equal(servers[0]!.auth.redirect, 'auto');
    assert.equal(servers[2]!.tokenEnv, 'API_TOKEN');
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'https://x', /must be an object/],
    ['no name', { url: 'https://x.example/mcp' }, /"name" is required/],
    ['empty name', { name: ' ', url: 'https://x.example/mcp' }, /"name" must be a non-empty string/],
    ['no url', { name: 'A' }, /"url" is required/],
    ['plain http off loopback', { name: 'A', url: 'http://x.example/mcp' }, /https/],
    ['javascript: url', { name: 'A', url: 'javascript:alert(1)' }, /https/],
    ['relative url', { name: 'A', url: '/mcp' }, /absolute URL/],
    ['unknown key', { name: 'A', url: 'https://x.example/mcp', colour: 'red' }, /"colour" is not a server setting/],
    [
      'a secret in settings',
      { name: 'A', url: 'https://x.example/mcp', auth: { clientSecret: 's3cr3t' } },
      /secrets never go in settings/,
    ],
    ['bad flow', { name: 'A', url: 'https://x.example/mcp', auth: { flow: 'implicit' } }, /"auth.flow" must be one of/],
    [
      'bad auth method',
      { name: 'A', url: 'https://x.example/mcp', auth: { tokenEndpointAuthMethod: 'tls' } },
      /tokenEndpointAuthMethod/,
    ],
    ['bad redirect', { name: 'A', url: 'https://x.example/mcp', auth: { redirect: 'web' } }, /"auth.redirect"/],
    ['bad port', { name: 'A', url: 'https://x.example/mcp', auth: { loopbackPort: 70000 } }, /loopbackPort/],
    ['scopes not strings', { name: 'A', url: 'https://x.example/mcp', auth: { scopes: [1] } }, /"auth.scopes"/],
    ['scope with a space', { name: 'A', url: 'https://x.example/mcp', auth: { scopes: ['a b'] } }, /"auth.scopes"/],
    [
      'insecure authorizationServer',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationServer: 'http://as.example' } },
      /https/,
    ],
    [
      'CIMD without a path',
      { name: 'A', url: 'https://x.example/mcp', auth: { clientMetadataUrl: 'https://c.example' } },
      /clientMetadataUrl/,
    ],
    ['stdio without command', { name: 'A', url: 'https://x.example/mcp', transport: 'stdio' }, /"command" is required/],
    [
      'stdio with DPoP required',
      { name: 'A', url: 'https://x.example/mcp', transport: 'stdio', command: 'x', auth: { dpop: 'required' } },
      /"auth\.dpop" cannot be "required" for a stdio server/,
    ],
    ['bad transport', { name: 'A', url: 'https://x.example/mcp', transport: 'sse' }, /"transport"/],
    [
      'bad tokenEnv',
      { name: 'A', url: 'https://x.example/mcp', transport: 'stdio', command: 'x', tokenEnv: 'A-B' },
      /"tokenEnv"/,
    ],
    ['env not strings', { name: 'A', url: 'https://x.example/mcp', env: { A: 1 } }, /"env"/],
    ['bad id', { name: 'A', url: 'https://x.example/mcp', id: '-x' }, /"id"/],
    ['bad dpop', { name: 'A', url: 'https://x.example/mcp', auth: { dpop: 'maybe' } }, /"auth.dpop" must be one of/],
    [
      'authorizationParams that is an array',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: ['prompt=consent'] } },
      /"auth.authorizationParams" must be an object/,
    ],
    [
      'authorizationParams setting state',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { state: 's3cr3t' } } },
      /"auth.authorizationParams" cannot set "state": the sign-in sets it itself/,
    ],
    [
      'authorizationParams setting redirect_uri in another letter case',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { Redirect_URI: 'https://evil' } } },
      /cannot set "redirect_uri"/,
    ],
    [
      'authorizationParams setting request_uri',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { request_uri: 'https://evil/r' } } },
      /cannot set "request_uri": it would replace the parameters the sign-in sets/,
    ],
    [
      'a secret in authorizationParams',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { client_secret: 's3cr3t' } } },
      /cannot set "client_secret": secrets never go in settings/,
    ],
    [
      'an authorizationParams value that is not a string',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { max_age: 0 } } },
      /gives "max_age" a value that is not a string/,
    ],
    [
      'an authorizationParams value with a control character',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { login_hint: 'a\r\nb' } } },
      /gives "login_hint" a value with a control character/,
    ],
    [
      'an authorizationParams name that is no parameter name',
      { name: 'A', url: 'https://x.example/mcp', auth: { authorizationParams: { 'a b': 'x' } } },
      /has a name that is not a parameter name/,
    ],
    [
      'workloadTokenFile without the workloadIdentity flow',
      { name: 'A', url: 'https://x.example/mcp', auth: { workloadTokenFile: '/var/run/token' } },
      /"auth.workloadTokenFile" applies only to the workloadIdentity flow/,
    ],
    [
      'a relative workloadTokenFile',
      { name: 'A', url: 'https://x.example/mcp', auth: { flow: 'workloadIdentity', workloadTokenFile: 'token.jwt' } },
      /"auth.workloadTokenFile" must be an absolute path, or start with "~\/"/,
    ],
    [
      "a workloadTokenFile in another user's home",
      { name: 'A', url: 'https://x.example/mcp', auth: { flow: 'workloadIdentity', workloadTokenFile: '~root/t' } },
      /not "~user"/,
    ],
  ];
  for (const [label, entry, message] of bad) {
    it(`reports ${label} by name and keeps the other entries`, () => {
      const { servers, invalid } = parseServers([
        { name: 'Good', url: 'https://good.example/mcp' },
        entry,
        { name: 'Also good', url: 'https://good2.example/mcp' },
      ]);
      assert.deepEqual(
        servers.map((s) => s.name),
        ['Good', 'Also good'],
      );
      assert.equal(invalid.length, 1);
      assert.equal(invalid[0]!.index, 1);
      assert.match(invalid[0]!.message, message);
      assert.ok(!invalid[0]!.message.includes('s3cr3t'), 'a secret is never echoed');
    });
  }

  it('refuses a duplicate id after the first, and a non-array setting', () => {
    const { servers, invalid } = parseServers([
      { name: 'A', url: 'https://a.example/mcp' },
      { name: 'a', url: 'https://b.example/mcp' },
    ]);
    assert.equal(servers.length, 1);
    assert.match(invalid[0]!.message, /used by an earlier entry/);
    assert.match(parseServers({}).invalid[0]!.message, /must be an array/);
    assert.deepEqual(parseServers(undefined), { servers: [], invalid: [] });
  });

  it('accepts the grant options: DPoP, extra authorization parameters, a workload token file', () => {
    const { servers, invalid } = parseServers([
      {
        name: 'Orders',
        url: 'https://orders.example.com/mcp',
        auth: { dpop: 'required', authorizationParams: { audience: 'https://orders.example.com/api', prompt: '' } },
      },
      { name: 'Wiki', url: 'https://wiki.example.com/mcp', auth: { flow: 'enterpriseManaged', dpop: 'off' } },
      {
        name: 'Deploy',
        url: 'https://deploy.example.com/mcp',
        auth: { flow: 'workloadIdentity', workloadTokenFile: '/var/run/secrets/tokens/mcp' },
      },
      {
        name: 'Home',
        url: 'https://home.example.com/mcp',
        auth: { flow: 'workloadIdentity', workloadTokenFile: '~/.config/ci/token.jwt' },
      },
    ]);
    assert.deepEqual(invalid, []);
    assert.deepEqual(servers[0]!.auth, {
      redirect: 'auto',
      dpop: 'required',
      authorizationParams: { audience: 'https://orders.example.com/api', prompt: '' },
    });
    assert.equal(servers[1]!.auth.flow, 'enterpriseManaged', 'parseServers alone does not look at the IdP setting');
    assert.equal(servers[2]!.auth.workloadTokenFile, '/var/run/secrets/tokens/mcp');
    assert.equal(servers[3]!.auth.workloadTokenFile, join(homedir(), '.config/ci/token.jwt'), '~/ is the home');
  });

  describe('mcpOAuth.enterpriseIdp', () => {
    it('is parsed into the enterprise IdP options, and absent when unset', () => {
      assert.deepEqual(
        parseEnterpriseIdp({ issuer: 'https://login.example.com', clientId: 'mcp', scopes: ['openid'] }),
        {
          ok: true,
          enterpriseIdp: { issuer: 'https://login.example.com', clientId: 'mcp', scopes: ['openid'] },
        },
      );
      assert.deepEqual(parseEnterpriseIdp({ issuer: 'http://127.0.0.1:7300', clientId: 'mcp' }), {
        ok: true,
        enterpriseIdp: { issuer: 'http://127.0.0.1:7300', clientId: 'mcp' },
      });
      assert.deepEqual(parseEnterpriseIdp(undefined), { ok: true });
      assert.deepEqual(parseEnterpriseIdp(null), { ok: true });
    });

    const malformed: [string, unknown, RegExp][] = [
      ['not an object', 'https://login.example.com', /mcpOAuth.enterpriseIdp must be an object/],
      ['an empty object', {}, /"mcpOAuth.enterpriseIdp.issuer" is required/],
      ['no client id', { issuer: 'https://login.example.com' }, /"mcpOAuth.enterpriseIdp.clientId" is required/],
      ['plain http off loopback', { issuer: 'http://login.example.com', clientId: 'c' }, /https/],
      ['an issuer with a query', { issuer: 'https://login.example.com/?t=1', clientId: 'c' }, /query/],
      ['a client id with a control character', { issuer: 'https://l.example', clientId: 'a\nb' }, /control/],
      ['a scope with a space', { issuer: 'https://l.example', clientId: 'c', scopes: ['a b'] }, /scope strings/],
      [
        'a secret',
        { issuer: 'https://l.example', clientId: 'c', clientSecret: 's3cr3t' },
        /"mcpOAuth.enterpriseIdp.clientSecret" is not an enterprise identity provider setting \(secrets never go in settings/,
      ],
    ];
    for (const [what, value, message] of malformed) {
      it(`reports ${what} as a typed error, without throwing`, () => {
        const result = parseEnterpriseIdp(value);
        assert.ok(!result.ok);
        assert.ok(result.error instanceof McpOAuthError && result.error.code === 'invalid_config');
        assert.match(result.error.message, message);
        assert.ok(!result.error.message.includes('s3cr3t'));
      });
    }

    it('an enterpriseManaged entry is invalid while no identity provider is set; the others are not', () => {
      const servers = [
        { name: 'Wiki', url: 'https://wiki.example.com/mcp', auth: { flow: 'enterpriseManaged' } },
        { name: 'Linear', url: 'https://mcp.linear.app/mcp' },
      ];
      const without = parseSettings({ servers });
      assert.deepEqual(
        without.servers.map((s) => s.name),
        ['Linear'],
      );
      assert.equal(without.enterpriseIdp, undefined);
      assert.deepEqual(
        without.invalid.map((i) => [i.label, i.index]),
        [['Wiki', 0]],
      );
      assert.match(
        without.invalid[0]!.message,
        /"enterpriseManaged" signs in through your company's identity provider: set mcpOAuth.enterpriseIdp/,
      );

      const idp = { issuer: 'https://login.example.com', clientId: 'mcp' };
      const withIdp = parseSettings({ servers, enterpriseIdp: idp });
      assert.deepEqual(withIdp.invalid, []);
      assert.deepEqual(
        withIdp.servers.map((s) => s.name),
        ['Wiki', 'Linear'],
      );
      assert.deepEqual(withIdp.enterpriseIdp, idp);
    });

    it('a malformed identity provider is reported under its own name, and its entries say why they wait', () => {
      const parsed = parseSettings({
        servers: [
          { name: 'Wiki', url: 'https://wiki.example.com/mcp', auth: { flow: 'enterpriseManaged' } },
          { name: 'Linear', url: 'https://mcp.linear.app/mcp' },
        ],
        enterpriseIdp: { issuer: 'http://login.example.com', clientId: 'mcp' },
      });
      assert.deepEqual(
        parsed.servers.map((s) => s.name),
        ['Linear'],
      );
      assert.deepEqual(
        parsed.invalid.map((i) => [i.label, i.index]),
        [
          ['mcpOAuth.enterpriseIdp', -1],
          ['Wiki', 0],
        ],
      );
      assert.match(parsed.invalid[0]!.message, /"mcpOAuth.enterpriseIdp.issuer" must use https/);
      assert.match(parsed.invalid[1]!.message, /mcpOAuth.enterpriseIdp, which is not valid: fix that setting first/);
    });
  });

  it('gives a stdio server Bearer tokens: a DPoP-bound token is of no use to the process it is handed to', () => {
    const { servers } = parseServers([
      { name: 'Local', url: 'https://x.example/mcp', transport: 'stdio', command: 'x', tokenEnv: 'T' },
      { name: 'Local2', url: 'https://x.example/mcp', transport: 'stdio', command: 'x', auth: { dpop: 'auto' } },
    ]);
    assert.deepEqual(
      servers.map((s) => s.auth.dpop),
      ['off', 'off'],
    );
  });

  it('slugs names', () => {
    assert.equal(slug('My Server (prod)'), 'my-server-prod');
    assert.equal(slug('Ünïcode'), 'unicode');
    assert.equal(slug('***'), 'server');
  });
});
