import assert from 'node:assert/strict';
import { parseCliArgs, UsageError } from '../../src/cli/args';
import {
  authorizationParamProblem,
  issuerProblem,
  resourceProblem,
  workloadTokenFilePath,
} from '../../src/oauth/session/authOptionRules';
import { parseEnterpriseIdp, parseServers } from '../../src/vscode/model/serverConfig';

/**
 * A setting and the flag of the same name mean one thing: both refuse a value with the same rule, whose
 * clause follows their own field's name (`"auth.resource" …`, `--resource …`).
 */
const URL_ = 'https://mcp.example.com/mcp';

function settingsMessage(auth: Record<string, unknown>): string {
  const { invalid } = parseServers([{ name: 'A', url: URL_, auth }]);
  assert.equal(invalid.length, 1, JSON.stringify(auth));
  return invalid[0]!.message;
}

function cliMessage(argv: string[]): string {
  try {
    parseCliArgs(['login', URL_, ...argv]);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${argv.join(' ')}`);
}

describe('auth option rules: one meaning for the settings and the CLI', () => {
  const params: [string, string][] = [
    ['state', 'x'],
    ['REDIRECT_URI', 'https://evil.example'],
    ['request', 'eyJ'],
    ['prompt', 'a\u0007b'],
    ['a+b', 'x'],
    ['client_secret', 's3cr3t'],
    ['id_token_hint', 'eyJ'],
  ];
  for (const [name, value] of params) {
    it(`authorizationParams ${JSON.stringify(name)}`, () => {
      const clause = authorizationParamProblem(name, value)!;
      assert.ok(clause);
      assert.equal(settingsMessage({ authorizationParams: { [name]: value } }), `"auth.authorizationParams" ${clause}`);
      assert.equal(cliMessage(['--authorize-param', `${name}=${value}`]), `--authorize-param ${clause}.`);
    });
  }
  it('accepts the same parameters', () => {
    assert.equal(authorizationParamProblem('access_type', 'offline'), undefined);
    assert.deepEqual(
      parseServers([{ name: 'A', url: URL_, auth: { authorizationParams: { access_type: 'offline' } } }]).invalid,
      [],
    );
    assert.doesNotThrow(() => parseCliArgs(['login', URL_, '--authorize-param', 'access_type=offline']));
  });

  for (const resource of [
    'https://api.example.com/',
    'http://mcp.example.com/mcp',
    'urn:example:api',
    'https://mcp.example.com/#f',
  ]) {
    it(`resource ${resource}`, () => {
      const clause = resourceProblem(resource, URL_)!;
      assert.ok(clause);
      assert.equal(settingsMessage({ resource }), `"auth.resource" ${clause}, or false`);
      assert.equal(cliMessage(['--resource', resource]), `--resource ${clause}; --no-resource sends none.`);
    });
  }

  for (const issuer of ['http://login.example.com', 'https://login.example.com/?tenant=1']) {
    it(`enterprise IdP issuer ${issuer}`, () => {
      const clause = issuerProblem(issuer)!;
      assert.ok(clause);
      const setting = parseEnterpriseIdp({ issuer, clientId: 'c' });
      assert.ok(!setting.ok);
      assert.match(setting.error.message, /^"mcpOAuth\.enterpriseIdp\.issuer" /);
      assert.equal(
        cliMessage(['--flow', 'enterpriseManaged', '--idp', issuer, '--idp-client-id', 'c']),
        `--idp ${clause}.`,
      );
    });
  }

  it('a workload token file: absolute or under ~/; relative only where there is a working directory', () => {
    assert.deepEqual(workloadTokenFilePath('/run/t', { home: '/home/u' }), { path: '/run/t' });
    assert.deepEqual(workloadTokenFilePath('~/t', { home: '/home/u' }), { path: '/home/u/t' });
    assert.deepEqual(workloadTokenFilePath('t', { home: '/home/u', cwd: '/work' }), { path: '/work/t' });
    for (const text of ['t', '~', '~/', '~u/t', '/run/\u0000t'])
      assert.ok('problem' in workloadTokenFilePath(text, { home: '/home/u' }), text);
  });
});
