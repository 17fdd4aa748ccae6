import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCliArgs, usage, UsageError, type CliCommand, type FlowOptions } from '../../src/cli/args';

const URL_ = 'https://mcp.example.com/mcp';
const defaults: FlowOptions = { flow: 'auto', scopes: [], openBrowser: true };

function flow(options: Partial<FlowOptions> = {}): FlowOptions {
  return { ...defaults, ...options };
}

describe('parseCliArgs', () => {
  const accepted: [string, string[], CliCommand][] = [
    ['help', ['--help'], { command: 'help' }],
    ['short help', ['-h'], { command: 'help' }],
    ['help after a command', ['login', URL_, '--help'], { command: 'help' }],
    ['help wins over bad usage', ['frobnicate', '--nope', '-h'], { command: 'help' }],
    ['the help command', ['help'], { command: 'help' }],
    ['version', ['--version'], { command: 'version' }],
    ['login', ['login', URL_], { command: 'login', url: URL_, options: flow() }],
    [
      'options before the command',
      ['--device', 'login', URL_],
      { command: 'login', url: URL_, options: flow({ flow: 'deviceCode' }) },
    ],
    [
      'login --device',
      ['login', URL_, '--device'],
      { command: 'login', url: URL_, options: flow({ flow: 'deviceCode' }) },
    ],
    [
      'login --client-credentials with a secret variable',
      ['login', URL_, '--client-credentials', '--client-id', 'svc', '--client-secret-env', 'MY_SECRET'],
      {
        command: 'login',
        url: URL_,
        options: flow({ flow: 'clientCredentials', clientId: 'svc', clientSecretEnv: 'MY_SECRET' }),
      },
    ],
    [
      'private_key_jwt',
      ['login', URL_, '--client-credentials', '--client-id=svc', '--private-key', './key.pem'],
      {
        command: 'login',
        url: URL_,
        options: flow({ flow: 'clientCredentials', clientId: 'svc', privateKeyFile: './key.pem' }),
      },
    ],
    [
      'CIMD client',
      ['login', URL_, '--client-metadata-url', 'https://app.example/client.json'],
      { command: 'login', url: URL_, options: flow({ clientMetadataUrl: 'https://app.example/client.json' }) },
    ],
    [
      'repeated and space-separated scopes, sorted and deduplicated',
      ['login', URL_, '--scope', 'write', '--scope', 'read offline_access', '--scope=read'],
      { command: 'login', url: URL_, options: flow({ scopes: ['offline_access', 'read', 'write'] }) },
    ],
    [
      'resource override on the server origin',
      ['login', URL_, '--resource', 'https://mcp.example.com/'],
      { command: 'login', url: URL_, options: flow({ resource: 'https://mcp.example.com/' }) },
    ],
    [
      'no resource',
      ['login', URL_, '--no-resource'],
      { command: 'login', url: URL_, options: flow({ resource: false }) },
    ],
    [
      'discovery overrides',
      [
        'login',
        URL_,
        '--resource-metadata',
        'https://mcp.example.com/.well-known/oauth-protected-resource',
        '--as',
        'https://login.example',
        '--as-metadata',
        'https://login.example/custom/metadata',
      ],
      {
        command: 'login',
        url: URL_,
        options: flow({
          resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource',
          authorizationServer: 'https://login.example',
          authorizationServerMetadataUrl: 'https://login.example/custom/metadata',
        }),
      },
    ],
    [
      'fixed redirect port and no browser',
      ['login', URL_, '--redirect-port', '33418', '--no-browser'],
      { command: 'login', url: URL_, options: flow({ redirectPort: 33418, openBrowser: false }) },
    ],
    [
      'loopback http server URL',
      ['login', 'http://127.0.0.1:3000/mcp'],
      { command: 'login', url: 'http://127.0.0.1:3000/mcp', options: flow() },
    ],
    ['token', ['token', URL_], { command: 'token', url: URL_ }],
    ['tools', ['tools', URL_], { command: 'tools', url: URL_, options: flow(), json: false }],
    [
      'tools --json',
      ['tools', URL_, '--json', '--device'],
      { command: 'tools', url: URL_, options: flow({ flow: 'deviceCode' }), json: true },
    ],
    [
      'call without arguments',
      ['call', URL_, 'search'],
      { command: 'call', url: URL_, options: flow(), tool: 'search', arguments: {} },
    ],
    [
      'call with JSON arguments',
      ['call', URL_, 'search', '{"query":"mcp","limit":3}', '--scope', 'read'],
      {
        command: 'call',
        url: URL_,
        options: flow({ scopes: ['read'] }),
        tool: 'search',
        arguments: { query: 'mcp', limit: 3 },
      },
    ],
    [
      'call with arguments after --',
      ['call', URL_, '--', 'search', '{"q":"-x"}'],
      { command: 'call', url: URL_, options: flow(), tool: 'search', arguments: { q: '-x' } },
    ],
    ['logout', ['logout', URL_], { command: 'logout', url: URL_ }],
    ['export', ['export', URL_], { command: 'export', url: URL_ }],
    ['import', ['import', URL_], { command: 'import', url: URL_, options: {} }],
    [
      'import with the discovery overrides',
      [
        'import',
        URL_,
        '--as',
        'https://login.example',
        '--as-metadata',
        'https://login.example/custom/metadata',
        '--resource-metadata',
        'https://mcp.example.com/rm',
      ],
      {
        command: 'import',
        url: URL_,
        options: {
          authorizationServer: 'https://login.example',
          authorizationServerMetadataUrl: 'https://login.example/custom/metadata',
          resourceMetadataUrl: 'https://mcp.example.com/rm',
        },
      },
    ],
    ...(['auto', 'authorizationCode', 'deviceCode', 'clientCredentials'] as const).map(
      (name): [string, string[], CliCommand] => [
        `--flow ${name}`,
        ['login', URL_, '--flow', name],
        { command: 'login', url: URL_, options: flow({ flow: name }) },
      ],
    ),
    [
      'a redirect port with --flow authorizationCode',
      ['login', URL_, '--flow=authorizationCode', '--redirect-port', '33418'],
      { command: 'login', url: URL_, options: flow({ flow: 'authorizationCode', redirectPort: 33418 }) },
    ],
    [
      'extra authorization parameters, the value kept whole after the first "="',
      [
        'login',
        URL_,
        '--authorize-param',
        'prompt=consent',
        '--authorize-param=audience=https://api.example/?a=b',
        '--authorize-param',
        'empty=',
      ],
      {
        command: 'login',
        url: URL_,
        options: flow({ authorizationParams: { prompt: 'consent', audience: 'https://api.example/?a=b', empty: '' } }),
      },
    ],
    ...(['auto', 'required', 'off'] as const).map((policy): [string, string[], CliCommand] => [
      `--dpop ${policy}`,
      ['tools', URL_, '--dpop', policy],
      { command: 'tools', url: URL_, options: flow({ dpop: policy }), json: false },
    ]),
    [
      'workload identity with an absolute token file',
      ['login', URL_, '--flow', 'workloadIdentity', '--workload-token-file', '/var/run/secrets/tokens/mcp'],
      {
        command: 'login',
        url: URL_,
        options: flow({ flow: 'workloadIdentity', workloadTokenFile: '/var/run/secrets/tokens/mcp' }),
      },
    ],
    [
      'a token file under ~/',
      ['login', URL_, '--flow', 'workloadIdentity', '--workload-token-file=~/ci/token.jwt'],
      {
        command: 'login',
        url: URL_,
        options: flow({ flow: 'workloadIdentity', workloadTokenFile: join(homedir(), 'ci/token.jwt') }),
      },
    ],
    [
      'a relative token file, from the working directory',
      ['login', URL_, '--flow', 'workloadIdentity', '--workload-token-file', 'token.jwt'],
      {
        command: 'login',
        url: URL_,
        options: flow({ flow: 'workloadIdentity', workloadTokenFile: resolve('token.jwt') }),
      },
    ],
    [
      'enterprise-managed with its identity provider',
      [
        'login',
        URL_,
        '--flow',
        'enterpriseManaged',
        '--idp',
        'https://login.example.com',
        '--idp-client-id',
        'mcp-cli',
        '--idp-scope',
        'openid profile',
        '--idp-scope=email',
      ],
      {
        command: 'login',
        url: URL_,
        options: flow({
          flow: 'enterpriseManaged',
          enterpriseIdp: {
            issuer: 'https://login.example.com',
            clientId: 'mcp-cli',
            scopes: ['email', 'openid', 'profile'],
          },
        }),
      },
    ],
    [
      'the workload flow named by its token file alone',
      ['login', URL_, '--workload-token-file', '/var/run/secrets/tokens/mcp'],
      {
        command: 'login',
        url: URL_,
        options: flow({ flow: 'workloadIdentity', workloadTokenFile: '/var/run/secrets/tokens/mcp' }),
      },
    ],
    [
      '--enterprise with the IdP secret variable and an ID token file',
      [
        'login',
        URL_,
        '--enterprise',
        '--idp',
        'https://login.example.com',
        '--idp-client-id',
        'mcp-client',
        '--idp-client-secret-env',
        'IDP_SECRET',
        '--id-token-file',
        '/run/id-token',
      ],
      {
        command: 'login',
        url: URL_,
        options: flow({
          flow: 'enterpriseManaged',
          enterpriseIdp: { issuer: 'https://login.example.com', clientId: 'mcp-client' },
          idpClientSecretEnv: 'IDP_SECRET',
          idTokenFile: '/run/id-token',
        }),
      },
    ],
    [
      'an identity provider on loopback, without scopes',
      ['call', URL_, 'search', '--flow', 'enterpriseManaged', '--idp', 'http://127.0.0.1:7300', '--idp-client-id', 'c'],
      {
        command: 'call',
        url: URL_,
        options: flow({ flow: 'enterpriseManaged', enterpriseIdp: { issuer: 'http://127.0.0.1:7300', clientId: 'c' } }),
        tool: 'search',
        arguments: {},
      },
    ],
  ];

  for (const [label, argv, expected] of accepted) {
    it(`accepts ${label}: ${argv.join(' ')}`, () => {
      assert.deepEqual(parseCliArgs(argv), expected);
    });
  }

  const rejected: [string, string[], RegExp][] = [
    ['no command', [], /Missing command/],
    ['an unknown command', ['frobnicate', URL_], /Unknown command "frobnicate"/],
    ['a missing URL', ['login'], /"login" needs the server URL/],
    ['a URL that is not http(s)', ['login', 'ftp://example.com'], /must be an http or https URL/],
    ['a URL that does not parse', ['token', 'mcp.example.com'], /must be an http or https URL/],
    ['an extra argument', ['token', URL_, 'extra'], /Too many arguments for "token"/],
    ['too many call arguments', ['call', URL_, 'tool', '{}', 'more'], /Too many arguments for "call"/],
    ['call without a tool', ['call', URL_], /"call" needs a tool name/],
    ['call arguments that are not JSON', ['call', URL_, 'tool', '{query:'], /not valid JSON/],
    ['call arguments that are an array', ['call', URL_, 'tool', '[1]'], /must be a JSON object/],
    ['call arguments that are null', ['call', URL_, 'tool', 'null'], /must be a JSON object/],
    ['an unknown option', ['login', URL_, '--frob'], /Unknown option --frob/],
    ['an unknown short option', ['login', URL_, '-x'], /Unknown option -x/],
    ['a flow option on token', ['token', URL_, '--device'], /--device is not an option of "token"/],
    ['--json on login', ['login', URL_, '--json'], /--json is not an option of "login"/],
    ['a value for a boolean option', ['login', URL_, '--device=yes'], /--device does not take a value/],
    ['a missing value', ['login', URL_, '--client-id'], /--client-id needs a value/],
    ['an option where a value should be', ['login', URL_, '--client-id', '--device'], /--client-id needs a value/],
    ['an empty value', ['login', URL_, '--client-id='], /--client-id needs a value/],
    ['a repeated single option', ['login', URL_, '--client-id', 'a', '--client-id', 'b'], /given more than once/],
    [
      'both flows',
      ['login', URL_, '--device', '--client-credentials'],
      /Choose one of --device and --client-credentials/,
    ],
    [
      'both resource options',
      ['login', URL_, '--resource', 'https://a.example', '--no-resource'],
      /Choose one of --resource and --no-resource/,
    ],
    [
      'a resource with a fragment',
      ['login', URL_, '--resource', 'https://mcp.example.com/#x'],
      /--resource must be an absolute URL without a fragment/,
    ],
    ['a relative resource', ['login', URL_, '--resource', '/api'], /--resource must be an absolute URL/],
    [
      'a resource on another origin',
      ['login', URL_, '--resource', 'https://api.example/'],
      /--resource must be a URL on the server's own origin "https:\/\/mcp.example.com"/,
    ],
    [
      'a secret and a key',
      ['login', URL_, '--client-id', 'c', '--client-secret-env', 'S', '--private-key', 'k.pem'],
      /Choose one of/,
    ],
    [
      'a secret variable without a client id',
      ['login', URL_, '--client-secret-env', 'S'],
      /--client-secret-env needs --client-id/,
    ],
    ['a private key without a client id', ['login', URL_, '--private-key', 'k.pem'], /--private-key needs --client-id/],
    [
      'client id and CIMD together',
      ['login', URL_, '--client-id', 'c', '--client-metadata-url', 'https://a.example/c.json'],
      /Choose one of --client-id/,
    ],
    [
      'a CIMD URL without a path',
      ['login', URL_, '--client-metadata-url', 'https://a.example'],
      /https URL with a path/,
    ],
    ['an http CIMD URL', ['login', URL_, '--client-metadata-url', 'http://a.example/c.json'], /https URL with a path/],
    ['port 0', ['login', URL_, '--redirect-port', '0'], /from 1 to 65535/],
    ['port too high', ['login', URL_, '--redirect-port', '65536'], /from 1 to 65535/],
    ['a port that is not a number', ['login', URL_, '--redirect-port', '8080x'], /from 1 to 65535/],
    [
      'a redirect port with the device flow',
      ['login', URL_, '--device', '--redirect-port', '8080'],
      /only to the browser sign-in/,
    ],
    ['a scope with a quote', ['login', URL_, '--scope', 'a"b'], /--scope holds a character/],
    ['an AS that is not a URL', ['login', URL_, '--as', 'issuer'], /--as must be an http or https URL/],
    ['a control character in the client id', ['login', URL_, '--client-id', 'a\nb'], /control character/],
    ['an unknown flow', ['login', URL_, '--flow', 'implicit'], /--flow must be one of auto, authorizationCode,/],
    ['the flow none', ['login', URL_, '--flow', 'none'], /--flow must be one of/],
    ['--flow and --device', ['login', URL_, '--flow', 'deviceCode', '--device'], /Choose one of --flow and --device/],
    [
      'a redirect port with a machine flow',
      ['login', URL_, '--flow', 'workloadIdentity', '--redirect-port', '1'],
      /only to the browser/,
    ],
    ['an unknown DPoP policy', ['login', URL_, '--dpop', 'maybe'], /--dpop must be one of auto, required, off/],
    ['an authorization parameter without "="', ['login', URL_, '--authorize-param', 'prompt'], /takes NAME=VALUE/],
    ['an authorization parameter without a name', ['login', URL_, '--authorize-param', '=x'], /takes NAME=VALUE/],
    [
      'an authorization parameter the sign-in sets',
      ['login', URL_, '--authorize-param', 'state=x'],
      /--authorize-param cannot set "state": the sign-in sets it itself/,
    ],
    [
      'a reserved parameter in another letter case',
      ['login', URL_, '--authorize-param', 'REDIRECT_URI=https://evil.example/cb'],
      /cannot set "redirect_uri"/,
    ],
    ['a request object', ['login', URL_, '--authorize-param', 'request_uri=urn:x'], /cannot set "request_uri"/],
    ['a parameter name with a space', ['login', URL_, '--authorize-param', 'a b=c'], /not a parameter name/],
    [
      'a control character in a parameter',
      ['login', URL_, '--authorize-param', 'login_hint=a\u001b[2Jb'],
      /control character/,
    ],
    [
      'a parameter given twice',
      ['login', URL_, '--authorize-param', 'prompt=login', '--authorize-param', 'prompt=consent'],
      /gives "prompt" more than once/,
    ],
    [
      'a workload token file with another flow',
      ['login', URL_, '--device', '--workload-token-file', '/t'],
      /--workload-token-file applies only to the workloadIdentity flow/,
    ],
    [
      '--enterprise with --device',
      ['login', URL_, '--enterprise', '--device'],
      /Choose one of --device and --enterprise/,
    ],
    [
      'an IdP secret variable without --idp',
      ['login', URL_, '--idp-client-secret-env', 'IDP_SECRET'],
      /--idp-client-secret-env needs --idp ISSUER/,
    ],
    [
      'an IdP secret on the command line instead of a variable name',
      [
        'login',
        URL_,
        '--enterprise',
        '--idp',
        'https://login.example.com',
        '--idp-client-id',
        'c',
        '--idp-client-secret-env',
        's3cr=t!',
      ],
      /--idp-client-secret-env takes the NAME of an environment variable/,
    ],
    ['an ID token file without --idp', ['login', URL_, '--id-token-file', '/t'], /--id-token-file needs --idp ISSUER/],
    [
      "a workload token file in another user's home",
      ['login', URL_, '--flow', 'workloadIdentity', '--workload-token-file', '~root/t'],
      /not "~user"/,
    ],
    [
      'enterprise-managed without an identity provider',
      ['login', URL_, '--flow', 'enterpriseManaged'],
      /--enterprise needs your company's identity provider: --idp ISSUER --idp-client-id ID/,
    ],
    [
      'an identity provider without the enterprise flow',
      ['login', URL_, '--idp', 'https://login.example.com', '--idp-client-id', 'c'],
      /--idp applies only to the enterpriseManaged flow/,
    ],
    [
      'an identity provider without a client id',
      ['login', URL_, '--flow', 'enterpriseManaged', '--idp', 'https://login.example.com'],
      /--idp needs --idp-client-id/,
    ],
    ['an IdP client id without --idp', ['login', URL_, '--idp-client-id', 'c'], /--idp-client-id needs --idp/],
    ['an IdP scope without --idp', ['login', URL_, '--idp-scope', 'openid'], /--idp-scope needs --idp/],
    [
      'a plain http identity provider',
      ['login', URL_, '--flow', 'enterpriseManaged', '--idp', 'http://login.example.com', '--idp-client-id', 'c'],
      /--idp must use https/,
    ],
    [
      'an IdP scope with a quote',
      [
        'login',
        URL_,
        '--flow',
        'enterpriseManaged',
        '--idp',
        'https://l.example',
        '--idp-client-id',
        'c',
        '--idp-scope',
        'a"b',
      ],
      /--idp-scope holds a character/,
    ],
    ['a flow option on import', ['import', URL_, '--device'], /--device is not an option of "import"/],
  ];

  for (const [label, argv, message] of rejected) {
    it(`rejects ${label}`, () => {
      assert.throws(
        () => parseCliArgs(argv),
        (error: unknown) => {
          assert.ok(error instanceof UsageError, String(error));
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /\n/, 'one line');
          return true;
        },
      );
    });
  }

  describe('never echoes or accepts a secret', () => {
    const secret = 's3cr3t-VALUE';
    for (const argv of [
      ['login', URL_, `--client-secret=${secret}`],
      ['login', URL_, '--client-secret', secret],
      ['login', URL_, '--secret', secret],
      ['login', URL_, '--client-id', 'c', '--client-secret-env', secret.replace('-', ' ')],
      ['login', URL_, '--client-id', 'c', `--client-secret-env=${secret}`],
      ['login', URL_, `--device=${secret}`],
      ['login', URL_, `--unknown=${secret}`],
      ['login', URL_, `--flow=${secret}`],
      ['login', URL_, '--dpop', secret],
      ['login', URL_, '--authorize-param', `state=${secret}`],
      ['login', URL_, '--authorize-param', `client_secret=${secret}`],
      ['login', URL_, '--authorize-param', `login_hint=${secret}\n`],
      ['login', URL_, '--authorize-param', `${secret}!=x`],
      ['login', URL_, '--authorize-param', `prompt=${secret}`, '--authorize-param', `prompt=${secret}`],
      ['login', URL_, '--flow', 'workloadIdentity', '--workload-token-file', `~${secret}`],
      ['login', URL_, '--flow', 'enterpriseManaged', '--idp', `https://${secret}.example/?q`, '--idp-client-id', 'c'],
      ['login', URL_, '--flow', 'enterpriseManaged', '--idp', 'https://l.example', '--idp-client-id', `${secret}\n`],
      ['login', URL_, '--resource', `https://${secret}.example/`],
    ]) {
      it(argv.slice(2).join(' '), () => {
        assert.throws(
          () => parseCliArgs(argv),
          (error: unknown) => {
            assert.ok(error instanceof UsageError);
            assert.ok(!error.message.includes(secret) && !error.message.includes('s3cr3t'), error.message);
            return true;
          },
        );
      });
    }

    it('points --client-secret to --client-secret-env', () => {
      assert.throws(() => parseCliArgs(['login', URL_, '--client-secret', secret]), /--client-secret-env VAR/);
    });
  });

  it('documents every command and option in the usage text', () => {
    for (const word of ['login', 'token', 'tools', 'call', 'logout', 'export', 'import'])
      assert.match(usage, new RegExp(`\\b${word}\\b`));
    for (const option of [
      '--device',
      '--client-credentials',
      '--client-id ID',
      '--client-secret-env VAR',
      '--private-key FILE',
      '--client-metadata-url URL',
      '--scope S',
      '--resource URL',
      '--no-resource',
      '--resource-metadata URL',
      '--as ISSUER',
      '--as-metadata URL',
      '--redirect-port N',
      '--no-browser',
      '--flow NAME',
      'enterpriseManaged or workloadIdentity',
      '--authorize-param NAME=VALUE',
      '--dpop auto|required|off',
      '--workload-token-file PATH',
      '--idp ISSUER',
      '--idp-client-id ID',
      '--idp-scope S',
      'Discovery options (login, tools, call, import)',
      '--json',
      '-h, --help',
      '--version',
      'MCP_OAUTH_HOME',
      'BROWSER',
    ]) {
      assert.ok(usage.includes(option), option);
    }
  });
});
