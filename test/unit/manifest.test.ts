import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { listFiles, PackageManager } from '@vscode/vsce';

/**
 * The manifest as the marketplace and VS Code read it: every contributed string localised, the commands of
 * the README's command table in one category, internal commands out of the palette, a walkthrough that points at real
 * commands, views and context keys, an engine that matches the API typings, and a VSIX with only what ships.
 */

const root = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nls: Record<string, unknown> = JSON.parse(readFileSync(join(root, 'package.nls.json'), 'utf8'));

/** The README's command table: the public command ids. Every other command is internal. */
const publicCommands = [
  'addServer',
  'removeServer',
  'signIn',
  'signInWithDeviceCode',
  'signOut',
  'importToken',
  'refreshToken',
  'copyAccessToken',
  'showTokenDetails',
  'resetClientRegistration',
  'refresh',
  'showLog',
].map((id) => `mcpOAuth.${id}`);

/** Built-in commands the walkthrough and the welcome view may link to. */
const builtInCommands = new Set(['workbench.action.chat.open', 'workbench.action.openSettings']);

interface Command {
  command: string;
  title: string;
  category?: string;
}
interface PaletteEntry {
  command: string;
  when?: string;
}
interface WalkthroughStep {
  id: string;
  title: string;
  description: string;
  media: Record<string, unknown>;
  completionEvents?: string[];
}
interface Walkthrough {
  id: string;
  title: string;
  description: string;
  steps: WalkthroughStep[];
}

const commands: Command[] = pkg.contributes.commands;
const palette: PaletteEntry[] = pkg.contributes.menus.commandPalette;
const walkthroughs: Walkthrough[] = pkg.contributes.walkthroughs;
const containers: { id: string }[] = Object.values(
  pkg.contributes.viewsContainers as Record<string, { id: string }[]>,
).flat();
const views: { id: string }[] = Object.values(pkg.contributes.views as Record<string, { id: string }[]>).flat();

/** Every string in a JSON value, with its path, for finding `%key%` placeholders wherever they are. */
function strings(value: unknown, path = ''): { path: string; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((each, i) => strings(each, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([key, each]) => strings(each, `${path}.${key}`));
  return [];
}

const placeholder = /^%([^%\s]+)%$/;
const localise = (text: string): string => {
  const key = placeholder.exec(text)?.[1];
  return key === undefined ? text : String(nls[key]);
};

/** The commands a markdown text links to (`[label](command:id?args)`), with their arguments decoded. */
function commandLinks(markdown: string): { id: string; args?: string }[] {
  return [...markdown.matchAll(/\]\(command:([\w.-]+)(?:\?([^)\s]*))?\)/g)].map((m) => ({
    id: m[1]!,
    ...(m[2] ? { args: decodeURIComponent(m[2]) } : {}),
  }));
}

/** The commands VS Code has when the extension is installed: ours, the generated view ones, and some built-ins. */
const knownCommands = new Set([
  ...commands.map((c) => c.command),
  ...views.map((v) => `${v.id}.focus`),
  ...containers.map((c) => `workbench.view.extension.${c.id}`),
  ...builtInCommands,
]);

/** The context keys the extension sets: string literals in src/ next to a `setContext` call. */
function contextKeysSetInSource(): Set<string> {
  const keys = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        if (!text.includes("'setContext'")) continue;
        for (const m of text.matchAll(/'(mcpOAuth\.[A-Za-z]+)'/g)) keys.add(m[1]!);
      }
    }
  };
  walk(join(root, 'src'));
  return keys;
}

describe('manifest (package.json)', () => {
  describe('localisation', () => {
    const used = strings(pkg).flatMap(({ path, value }) => {
      const key = placeholder.exec(value)?.[1];
      return key === undefined ? [] : [{ path, key }];
    });

    it('has a string in package.nls.json for every %key% in package.json', () => {
      assert.ok(used.length > 50, `only ${used.length} placeholders found`);
      const missing = used.filter(({ key }) => typeof nls[key] !== 'string' || (nls[key] as string).trim() === '');
      assert.deepEqual(missing, []);
    });

    it('uses every key of package.nls.json', () => {
      const keys = new Set(used.map((u) => u.key));
      assert.deepEqual(
        Object.keys(nls).filter((key) => !keys.has(key)),
        [],
      );
    });

    it('localises every title, label, name and description that contributes shows', () => {
      const shown =
        /\.(title|label|name|contextualTitle|description|markdownDescription|contents|patternErrorMessage)$|EnumDescriptions\[\d+\]$/;
      const data = /\.(body|default|examples)[.[]/; // snippet bodies and defaults are values, not UI text
      const literal = strings(pkg.contributes, 'contributes').filter(
        ({ path, value }) => shown.test(path) && !data.test(path) && !placeholder.test(value),
      );
      assert.deepEqual(literal, []);
    });
  });

  describe('commands', () => {
    it('contributes every command of the README\'s command table, in the "MCP OAuth" category', () => {
      assert.equal(nls.category, 'MCP OAuth');
      for (const id of publicCommands) {
        const command = commands.find((c) => c.command === id);
        assert.ok(command, `${id} is not contributed`);
        assert.equal(command.category, '%category%', id);
      }
      for (const command of commands)
        assert.equal(command.category, '%category%', `${command.command} has its own category`);
    });

    it('keeps the public commands in the palette and hides the internal ones', () => {
      const hidden = new Set(palette.filter((entry) => entry.when === 'false').map((entry) => entry.command));
      for (const id of publicCommands) assert.ok(!hidden.has(id), `${id} is hidden from the palette`);
      const internal = commands.map((c) => c.command).filter((id) => !publicCommands.includes(id));
      for (const id of internal)
        assert.ok(
          hidden.has(id),
          `${id} is internal but shows in the palette: add it to menus.commandPalette with "when": "false"`,
        );
    });

    it('links only to commands that exist, from the welcome view and the walkthrough', () => {
      const texts = [
        ...(pkg.contributes.viewsWelcome as { contents: string }[]).map((w) => localise(w.contents)),
        ...walkthroughs.flatMap((w) => [localise(w.description), ...w.steps.map((s) => localise(s.description))]),
      ];
      const links = texts.flatMap(commandLinks);
      assert.ok(links.length >= 5, `only ${links.length} command links found`);
      for (const { id, args } of links) {
        assert.ok(knownCommands.has(id), `command:${id} does not exist`);
        if (args !== undefined)
          assert.doesNotThrow(() => JSON.parse(args), `command:${id} has arguments that are not JSON: ${args}`);
      }
    });
  });

  describe('walkthrough', () => {
    const walkthrough = walkthroughs.find((w) => w.id === 'mcpOAuth.gettingStarted');

    it('walks through adding a server, signing in, the tools and agent mode, in that order', () => {
      assert.ok(walkthrough, 'mcpOAuth.gettingStarted is not contributed');
      const firstLink = (step: WalkthroughStep): string | undefined => commandLinks(localise(step.description))[0]?.id;
      assert.deepEqual(walkthrough.steps.map(firstLink), [
        'mcpOAuth.addServer',
        'mcpOAuth.signIn',
        'mcpOAuth.servers.focus',
        'workbench.action.chat.open',
      ]);
      assert.equal(new Set(walkthrough.steps.map((s) => s.id)).size, walkthrough.steps.length, 'step ids repeat');
    });

    it('gives every step media that exists and completion events that can fire', () => {
      assert.ok(walkthrough);
      const contextKeys = contextKeysSetInSource();
      for (const step of walkthrough.steps) {
        const media = Object.entries(step.media).filter(([kind]) => ['markdown', 'image', 'svg'].includes(kind));
        assert.ok(media.length > 0, `${step.id} has no media`);
        for (const [, path] of media) {
          const files = typeof path === 'string' ? [path] : Object.values(path as Record<string, string>);
          for (const file of files) assert.ok(existsSync(join(root, file)), `${step.id}: ${file} does not exist`);
        }
        const events = step.completionEvents ?? [];
        assert.ok(events.length > 0, `${step.id} has no completion events`);
        for (const event of events) {
          const [kind, target] = [event.slice(0, event.indexOf(':')), event.slice(event.indexOf(':') + 1)];
          if (kind === 'onCommand') assert.ok(knownCommands.has(target), `${step.id}: ${event} names no command`);
          else if (kind === 'onView')
            assert.ok(
              views.some((v) => v.id === target),
              `${step.id}: ${event} names no view`,
            );
          else if (kind === 'onContext')
            assert.ok(contextKeys.has(target), `${step.id}: ${event} names a context key src/ never sets`);
          else assert.fail(`${step.id}: unexpected completion event ${event}`);
        }
      }
    });
  });

  describe('engine and identity', () => {
    it('targets the VS Code version of the API typings (engines.vscode = @types/vscode, major.minor)', () => {
      const engine = /^\^(\d+\.\d+)\.\d+$/.exec(pkg.engines.vscode)?.[1];
      const declared = /^~(\d+\.\d+)\.\d+$/.exec(pkg.devDependencies['@types/vscode'])?.[1];
      const installed = /^(\d+\.\d+)\./.exec(
        JSON.parse(readFileSync(join(root, 'node_modules/@types/vscode/package.json'), 'utf8')).version,
      )?.[1];
      assert.ok(engine, `engines.vscode ${pkg.engines.vscode} is not ^X.Y.Z`);
      assert.equal(declared, engine, `@types/vscode ${pkg.devDependencies['@types/vscode']} is not ~${engine}.0`);
      assert.equal(installed, engine, 'the installed @types/vscode does not match engines.vscode');
    });

    it('has what the marketplace shows: icon, categories, repository, license, and a deliberate extensionKind', () => {
      assert.equal(pkg.icon, 'media/icon.png');
      const icon = readFileSync(join(root, pkg.icon));
      assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [128, 128], 'the icon is not 128×128');
      assert.deepEqual(pkg.categories, ['AI', 'Other']);
      assert.ok(pkg.keywords.length >= 5 && pkg.keywords.length <= 30, 'the marketplace takes at most 30 keywords');
      assert.match(pkg.repository.url, /^https:\/\/github\.com\/mcp-oauth\/mcp-oauth$/);
      assert.equal(pkg.license, 'MIT');
      assert.ok(existsSync(join(root, 'LICENSE')));
      assert.deepEqual(pkg.extensionKind, ['workspace']);
      assert.equal(pkg.scripts['vscode:prepublish'], 'node esbuild.mjs --production');
    });
  });

  describe('.vscodeignore', () => {
    const ignoreFile = join(root, '.vscodeignore');
    const listed = async (cwd: string): Promise<string[]> =>
      (await listFiles({ cwd, ignoreFile, packageManager: PackageManager.None })).sort();

    it('ships the bundles, media, manifest and docs, and never sources, tests, sourcemaps or screenshots', async function () {
      this.timeout(20000);
      const shipped = [
        'CHANGELOG.md',
        'LICENSE',
        'README.md',
        'SECURITY.md',
        'dist/cli.js',
        'dist/core.js',
        'dist/extension.js',
        'media/callback.html',
        'media/icon.png',
        'media/icon.svg',
        'media/walkthrough/addServer.md',
        'package.json',
        'package.nls.json',
      ];
      const kept = [
        'dist/cli.js.map',
        'dist/core.js.map',
        'dist/extension.js.map',
        'dist/stale.js',
        'media/screenshots/sidebar.png',
        'src/extension.ts',
        'src/oauth/discovery/discover.ts',
        'test/unit/manifest.test.ts',
        'test/fixtures/peer.ts',
        'out/integration/index.js',
        'out/conformance-client.js',
        'node_modules/jose/package.json',
        'scripts/package.mjs',
        'esbuild.mjs',
        'tsconfig.json',
        'eslint.config.mjs',
        'package-lock.json',
        '.mocharc.json',
        '.gitignore',
        '.vscode-test/user-data/x',
        '.ci/run.sh',
        'mcp-oauth-0.1.0.vsix',
      ];
      const dir = mkdtempSync(join(tmpdir(), 'vscodeignore-'));
      try {
        for (const file of [...shipped, ...kept]) {
          mkdirSync(dirname(join(dir, file)), { recursive: true });
          writeFileSync(
            join(dir, file),
            file === 'package.json' ? JSON.stringify(pkg) : file === 'package.nls.json' ? JSON.stringify(nls) : 'x',
          );
        }
        assert.deepEqual(await listed(dir), [...shipped].sort());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('lists, for this checkout, only files that may ship, including every media file the manifest names', async function () {
      this.timeout(20000);
      const files = await listed(root);
      const allowed =
        /^(dist\/(extension|core|cli)\.js|media\/[^/]+\.(png|svg|html)|media\/walkthrough\/[^/]+\.md|package\.json|package\.nls\.json|README\.md|CHANGELOG\.md|SECURITY\.md|LICENSE)$/;
      assert.deepEqual(
        files.filter((f) => !allowed.test(f)),
        [],
      );
      const named = [
        pkg.icon,
        ...containers.map((c) => (c as { icon?: string }).icon),
        ...walkthroughs.flatMap((w) => w.steps.map((s) => s.media.markdown)),
      ];
      for (const file of named)
        if (typeof file === 'string')
          assert.ok(files.includes(file), `${file} is named in package.json but not shipped`);
    });
  });
});
