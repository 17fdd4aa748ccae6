import assert from 'node:assert/strict';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { browserCommands, openBrowser } from '../../src/cli/browser';

const isWindows = process.platform === 'win32';
const AUTH_URL = 'https://as.example/authorize?client_id=c&state=a%20b&x=$(touch%20pwned);echo';

/** A shell-quoted word for $BROWSER. */
function q(word: string): string {
  return `"${word.replace(/(["\\])/g, '\\$1')}"`;
}

async function waitForFile(file: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const text = await fs.readFile(file, 'utf8');
      if (text.endsWith('\n')) return text;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${file} was not written`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface SpawnCall {
  command: string;
  args: readonly string[];
  options: SpawnOptions;
}

/** A spawn that records its calls and reports a started child, or an ENOENT for `missing`. */
function fakeSpawn(calls: SpawnCall[], missing: readonly string[] = []) {
  return (command: string, args: readonly string[], options: SpawnOptions): ChildProcess => {
    calls.push({ command, args, options });
    const child = Object.assign(new EventEmitter(), { unref: () => undefined });
    setImmediate(() =>
      missing.includes(command)
        ? child.emit('error', Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' }))
        : child.emit('spawn'),
    );
    return child as unknown as ChildProcess;
  };
}

function throwingSpawn(): ChildProcess {
  throw new Error('spawn must not be called');
}

describe('openBrowser', () => {
  let dir: string;
  let script: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'mcp-oauth browser '));
    script = path.join(dir, 'fake-browser.js');
    // Writes its arguments after the first (the output file) as a JSON line.
    await fs.writeFile(
      script,
      "require('node:fs').writeFileSync(process.argv[2], JSON.stringify(process.argv.slice(3)) + '\\n');\n",
    );
  });

  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs $BROWSER with %s replaced by the URL, without a shell', async () => {
    const out = path.join(dir, 'with-placeholder.txt');
    const env = { BROWSER: `${q(process.execPath)} ${q(script)} ${q(out)} --new-tab %s` };
    assert.equal(await openBrowser(AUTH_URL, env), true);
    assert.deepEqual(JSON.parse(await waitForFile(out)), ['--new-tab', AUTH_URL]);
  });

  it('appends the URL when $BROWSER has no %s', async () => {
    const out = path.join(dir, 'appended.txt');
    assert.equal(await openBrowser(AUTH_URL, { BROWSER: `${q(process.execPath)} ${q(script)} ${q(out)}` }), true);
    assert.deepEqual(JSON.parse(await waitForFile(out)), [AUTH_URL]);
  });

  it('tries the entries of a $BROWSER list in turn', async function () {
    if (isWindows) this.skip();
    const out = path.join(dir, 'list.txt');
    const env = { BROWSER: `/nonexistent/browser %s:${q(process.execPath)} ${q(script)} ${q(out)} %s` };
    assert.equal(await openBrowser(AUTH_URL, env), true);
    assert.deepEqual(JSON.parse(await waitForFile(out)), [AUTH_URL]);
  });

  it('reports false, without throwing, when the opener is missing', async () => {
    assert.equal(await openBrowser(AUTH_URL, { BROWSER: path.join(dir, 'no-such-browser') }), false);
    const calls: SpawnCall[] = [];
    const result = await openBrowser(AUTH_URL, {}, { platform: 'linux', spawn: fakeSpawn(calls, ['xdg-open']) });
    assert.equal(result, false);
    assert.equal(calls.length, 1);
  });

  it('reports false when spawn itself throws', async () => {
    assert.equal(await openBrowser(AUTH_URL, {}, { platform: 'linux', spawn: throwingSpawn }), false);
  });

  for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'not a url', 'ms-settings:privacy']) {
    it(`refuses to open ${url}`, async () => {
      assert.equal(await openBrowser(url, { BROWSER: 'echo' }, { spawn: throwingSpawn }), false);
    });
  }

  for (const [platform, expected] of [
    ['linux', ['xdg-open', AUTH_URL]],
    ['freebsd', ['xdg-open', AUTH_URL]],
    ['darwin', ['open', AUTH_URL]],
    ['win32', ['rundll32', 'url.dll,FileProtocolHandler', AUTH_URL]],
  ] as const) {
    it(`uses the ${platform} opener, detached and with stdio ignored`, async () => {
      const calls: SpawnCall[] = [];
      assert.equal(await openBrowser(AUTH_URL, {}, { platform, spawn: fakeSpawn(calls) }), true);
      assert.equal(calls.length, 1);
      const [call] = calls;
      assert.deepEqual([call?.command, ...(call?.args ?? [])], expected);
      assert.equal(call?.options.detached, true);
      assert.equal(call?.options.stdio, 'ignore');
      assert.equal(call?.options.shell, false);
    });
  }
});

describe('browserCommands', () => {
  const url = 'https://as.example/a?b=1&c=2';
  const table: [string, NodeJS.Platform, string, string[][]][] = [
    ['a bare command', 'linux', 'firefox', [['firefox', url]]],
    ['a placeholder', 'linux', 'firefox --new-window %s', [['firefox', '--new-window', url]]],
    ['a placeholder inside a word', 'linux', 'browser --url=%s', [['browser', `--url=${url}`]]],
    ['a literal percent', 'linux', 'browser --zoom=100%% %s', [['browser', '--zoom=100%', url]]],
    ['quoted words', 'linux', `"/opt/My Browser/run" 'a b' %s`, [['/opt/My Browser/run', 'a b', url]]],
    ['a backslash escape', 'linux', '/opt/My\\ Browser/run', [['/opt/My Browser/run', url]]],
    [
      'a list',
      'linux',
      'w3m:lynx %s',
      [
        ['w3m', url],
        ['lynx', url],
      ],
    ],
    ['empty list entries', 'linux', ':firefox::', [['firefox', url]]],
    ['a Windows path', 'win32', '"C:\\Program Files\\Browser\\b.exe" %s', [['C:\\Program Files\\Browser\\b.exe', url]]],
    [
      'a Windows list',
      'win32',
      'a.exe;b.exe',
      [
        ['a.exe', url],
        ['b.exe', url],
      ],
    ],
    ['blank $BROWSER means the platform opener', 'darwin', '  ', [['open', url]]],
  ];
  for (const [label, platform, browser, expected] of table) {
    it(label, () => {
      assert.deepEqual(browserCommands(url, { BROWSER: browser }, platform), expected);
    });
  }
});
