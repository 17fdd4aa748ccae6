import { McpOAuthError } from '../oauth/errors';
import { safeLine } from '../oauth/http/logger';
import { parseCliArgs, usage, UsageError } from './args';
import * as commands from './commands';
import { inert } from './terminalText';

/**
 * Everything the CLI prints leaves through `io.stdout` or the error lines below, and is made inert there:
 * much of it comes from servers. A token (printable ASCII) passes unchanged; JSON stays JSON, with the same value.
 */
const io: commands.CliIO = {
  stdout: (text) => process.stdout.write(inert(text, { multiline: true })),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Exit codes: 0 success, 1 an OAuth or MCP error (one line naming the cause), 2 bad usage. */
async function main(argv: readonly string[]): Promise<number> {
  let cmd;
  try {
    cmd = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`mcp-oauth: ${inert(error.message)}\nRun 'mcp-oauth --help' for usage.\n`);
    return 2;
  }
  try {
    switch (cmd.command) {
      case 'help':
        io.stdout(usage);
        return 0;
      case 'version':
        io.stdout(`${process.env.MCP_OAUTH_VERSION ?? '0.1.0'}\n`);
        return 0;
      case 'login':
        await commands.login(cmd, io);
        return 0;
      case 'token':
        await commands.token(cmd, io);
        return 0;
      case 'tools':
        await commands.tools(cmd, io);
        return 0;
      case 'call':
        await commands.call(cmd, io);
        return 0;
      case 'logout':
        await commands.logout(cmd, io);
        return 0;
      case 'export':
        await commands.exportBundle(cmd, io);
        return 0;
      case 'import':
        await commands.importBundle(cmd, io);
        return 0;
    }
  } catch (error) {
    let message =
      error instanceof McpOAuthError
        ? `${error.message} [${error.code}]`
        : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
    if (error instanceof McpOAuthError && error.code === 'not_signed_in' && 'url' in cmd)
      message += `; run: mcp-oauth login ${cmd.url}`;
    process.stderr.write(`mcp-oauth: ${inert(safeLine(message))}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mcp-oauth: ${inert((error as Error)?.stack ?? String(error), { multiline: true })}\n`);
    process.exit(1);
  },
);
