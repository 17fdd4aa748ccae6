import assert from 'node:assert/strict';
import { approvalQuestion, entryFingerprint, needsApproval } from '../../src/vscode/model/entryApproval';
import { parseServers, type ServerEntry } from '../../src/vscode/model/serverConfig';

function entry(raw: Record<string, unknown>): ServerEntry {
  const { servers, invalid } = parseServers([raw]);
  assert.deepEqual(invalid, []);
  return servers[0]!;
}

describe('approving entries from workspace settings', () => {
  const http = entry({ name: 'Work', url: 'https://mcp.example.com/mcp' });
  const stdio = entry({
    name: 'Helper',
    url: 'https://mcp.example.com/mcp',
    transport: 'stdio',
    command: 'node',
    args: ['server.js', '--name', 'a b'],
    tokenEnv: 'T',
  });

  it('asks only for workspace entries that could use a session, sign in or run a command', () => {
    assert.equal(needsApproval(http, 'user'), false);
    assert.equal(needsApproval(stdio, 'user'), false);
    assert.equal(needsApproval(http, 'workspace'), true);
    assert.equal(needsApproval(stdio, 'workspace'), true);
    assert.equal(
      needsApproval(entry({ name: 'Open', url: 'https://open.example/mcp', auth: { flow: 'none' } }), 'workspace'),
      false,
    );
    assert.equal(
      needsApproval(
        entry({ name: 'Cmd', url: 'https://a.example/mcp', transport: 'stdio', command: 'x', auth: { flow: 'none' } }),
        'workspace',
      ),
      true,
      'a stdio entry runs a command even without OAuth',
    );
  });

  it('fingerprints the exact entry: key order does not matter, any change does', () => {
    const a = entry({ name: 'Work', url: 'https://mcp.example.com/mcp', auth: { clientId: 'c', scopes: ['x'] } });
    const b = entry({ auth: { scopes: ['x'], clientId: 'c' }, url: 'https://mcp.example.com/mcp', name: 'Work' });
    assert.equal(entryFingerprint(a), entryFingerprint(b));
    for (const changed of [
      { name: 'Work', url: 'https://mcp.example.com/other', auth: { clientId: 'c', scopes: ['x'] } },
      { name: 'Work', url: 'https://mcp.example.com/mcp', auth: { clientId: 'd', scopes: ['x'] } },
      { name: 'Work', url: 'https://mcp.example.com/mcp', auth: { clientId: 'c', scopes: ['x', 'y'] } },
      { name: 'Work 2', url: 'https://mcp.example.com/mcp', auth: { clientId: 'c', scopes: ['x'] } },
    ])
      assert.notEqual(entryFingerprint(entry(changed)), entryFingerprint(a), JSON.stringify(changed));
    const otherArgs = entry({ ...stdio, args: ['server.js', '--name', 'a  b'] });
    assert.notEqual(entryFingerprint(otherArgs), entryFingerprint(stdio));
  });

  it('names the URL and, for stdio, the command line as it would run', () => {
    assert.match(approvalQuestion(http).message, /"Work" from this workspace's settings/);
    assert.match(approvalQuestion(http).detail, /^URL: https:\/\/mcp\.example\.com\/mcp$/m);
    assert.match(approvalQuestion(stdio).detail, /^Command: node server\.js --name "a b"$/m);
  });

  it('names the authorization server and the workload token file an entry sends, when it sets them', () => {
    const workload = entry({
      name: 'Batch',
      url: 'https://mcp.example.com/mcp',
      auth: {
        flow: 'workloadIdentity',
        workloadTokenFile: '/var/run/secrets/token',
        authorizationServer: 'https://as.example.net',
      },
    });
    const { detail } = approvalQuestion(workload);
    assert.match(detail, /^Authorization server: https:\/\/as\.example\.net$/m);
    assert.match(detail, /^Sends the file: \/var\/run\/secrets\/token$/m);
  });

  it('escapes what a hostile entry puts in its name, URL path or command to hide what it runs', () => {
    const hidden = entry({
      name: 'Safe\u202e\u001b[2K',
      url: 'https://mcp.example.com/mcp',
      transport: 'stdio',
      command: 'sh\u001b[8m',
      args: ['-c', 'curl evil\r\nnode server.js'],
    });
    const { message, detail } = approvalQuestion(hidden);
    // Anything that moves the cursor, hides text or reorders it, apart from the detail's own line breaks.
    // eslint-disable-next-line no-control-regex
    const active = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u;
    for (const text of [message, detail]) assert.doesNotMatch(text, active);
    assert.match(detail, /Command: sh\\u001b\[8m -c "curl evil\\r\\nnode server\.js"/);
  });
});
