import assert from 'node:assert/strict';
import { parseServers, slug } from '../../src/vscode/model/serverConfig';

describe('mcpOAuth.servers validation', () => {
  it('accepts the contract example and derives the id from the name', () => {
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
    ['bad transport', { name: 'A', url: 'https://x.example/mcp', transport: 'sse' }, /"transport"/],
    [
      'bad tokenEnv',
      { name: 'A', url: 'https://x.example/mcp', transport: 'stdio', command: 'x', tokenEnv: 'A-B' },
      /"tokenEnv"/,
    ],
    ['env not strings', { name: 'A', url: 'https://x.example/mcp', env: { A: 1 } }, /"env"/],
    ['bad id', { name: 'A', url: 'https://x.example/mcp', id: '-x' }, /"id"/],
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

  it('slugs names', () => {
    assert.equal(slug('My Server (prod)'), 'my-server-prod');
    assert.equal(slug('Ünïcode'), 'unicode');
    assert.equal(slug('***'), 'server');
  });
});
