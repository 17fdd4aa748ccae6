import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseSettings } from '../../src/vscode/model/serverConfig';

/**
 * The README is the marketplace page: its settings examples must be entries the extension accepts, and
 * its settings reference must name every field the manifest contributes.
 */

const root = resolve(__dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The jsonc blocks of the README that set `mcpOAuth.servers`, as settings objects. */
function settingsExamples(): Record<string, unknown>[] {
  const blocks = [...readme.matchAll(/```jsonc\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((b) => b.includes('"mcpOAuth.servers"'));
  return blocks.map((block) => {
    const json = block
      .split('\n')
      .map((line) => line.replace(/(^|\s)\/\/.*$/, ''))
      .join('\n')
      .replace(/,(\s*[\]}])/g, '$1');
    return JSON.parse(`{${json}}`) as Record<string, unknown>;
  });
}

const serverExamples = (): unknown[][] => settingsExamples().map((s) => s['mcpOAuth.servers'] as unknown[]);

describe('README', () => {
  it('has settings examples, and every entry in them is valid', () => {
    const examples = settingsExamples();
    assert.ok(examples.length > 0);
    for (const settings of examples) {
      const servers = settings['mcpOAuth.servers'] as unknown[];
      const parsed = parseSettings({ servers, enterpriseIdp: settings['mcpOAuth.enterpriseIdp'] });
      assert.deepEqual(parsed.invalid, [], JSON.stringify(parsed.invalid));
      assert.equal(parsed.servers.length, servers.length);
    }
  });

  it('shows an example for each provider and case the settings reference promises', () => {
    const entries = serverExamples().flat() as { name: string; auth?: Record<string, unknown>; transport?: string }[];
    const has = (what: string, test: (e: (typeof entries)[number]) => boolean) => assert.ok(entries.some(test), what);
    has(
      'GitHub with a pre-registered client and the device code',
      (e) => e.name === 'GitHub' && e.auth?.flow === 'deviceCode' && !!e.auth.clientId,
    );
    has(
      'Entra ID without resource and with a fixed loopback port',
      (e) =>
        String(e.auth?.authorizationServer).includes('login.microsoftonline.com') &&
        e.auth?.resource === false &&
        !!e.auth.loopbackPort,
    );
    has('Google', (e) => e.auth?.authorizationServer === 'https://accounts.google.com');
    has(
      'a split-domain authorization server',
      (e) => !!e.auth?.authorizationServer && !!e.auth.authorizationServerMetadataUrl,
    );
    has('client credentials', (e) => e.auth?.flow === 'clientCredentials');
    has('a stdio server with tokenEnv', (e) => e.transport === 'stdio');
  });

  it('documents every setting, server field and auth field of the manifest', () => {
    for (const setting of Object.keys(pkg.contributes.configuration.properties))
      assert.ok(readme.includes(`| \`${setting}\` |`), `setting ${setting}`);
    const server = pkg.contributes.configuration.properties['mcpOAuth.servers'].items.properties;
    for (const field of Object.keys(server)) assert.ok(readme.includes(`| \`${field}\` |`), `server field ${field}`);
    for (const field of Object.keys(server.auth.properties))
      assert.ok(readme.includes(`| \`auth.${field}\` |`), `auth field ${field}`);
  });

  it('has the two set-up commands and a troubleshooting section', () => {
    assert.match(readme, /npm install && npm test/);
    assert.match(readme, /npm install && npm start/);
    assert.match(readme, /^## Troubleshooting$/m);
  });
});
