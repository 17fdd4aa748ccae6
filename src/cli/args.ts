import { parseArgs } from 'node:util';

/**
 * The command line of `mcp-oauth`, as in CONTRACT.md, parsed into a typed {@link CliCommand}. Bad usage is a
 * {@link UsageError} (exit code 2) with a one-line message. No flag takes a secret: `--client-secret-env`
 * takes the name of an environment variable, and messages never repeat an option's value.
 */

/** The grant to use; `auto` lets the core choose from the metadata. Same names as the `auth.flow` setting. */
export type FlowChoice = 'auto' | 'authorizationCode' | 'deviceCode' | 'clientCredentials';

/** The flow and client options accepted by `login`, `tools` and `call`. */
export interface FlowOptions {
  readonly flow: FlowChoice;
  readonly clientId?: string;
  /** The name of the environment variable that holds the client secret (never the secret). */
  readonly clientSecretEnv?: string;
  /** A private key file for `private_key_jwt`. */
  readonly privateKeyFile?: string;
  /** A CIMD client id: an https URL with a path. */
  readonly clientMetadataUrl?: string;
  /** Requested scopes, sorted and without duplicates; empty means the default from the challenge or metadata. */
  readonly scopes: readonly string[];
  /** The RFC 8707 resource: a URI to send instead of the server URL, `false` never to send one. */
  readonly resource?: string | false;
  readonly resourceMetadataUrl?: string;
  /** An authorization server issuer to use when the server publishes no resource metadata. */
  readonly authorizationServer?: string;
  readonly authorizationServerMetadataUrl?: string;
  /** A fixed loopback redirect port; ephemeral when absent. */
  readonly redirectPort?: number;
  /** False with `--no-browser`: print the URL instead of opening it. */
  readonly openBrowser: boolean;
}

export type CliCommand =
  | { readonly command: 'help' }
  | { readonly command: 'version' }
  | { readonly command: 'login'; readonly url: string; readonly options: FlowOptions }
  | { readonly command: 'tools'; readonly url: string; readonly options: FlowOptions; readonly json: boolean }
  | {
      readonly command: 'call';
      readonly url: string;
      readonly options: FlowOptions;
      readonly tool: string;
      readonly arguments: Readonly<Record<string, unknown>>;
    }
  | { readonly command: 'token' | 'logout' | 'export' | 'import'; readonly url: string };

/** Bad usage: the CLI prints the message and a pointer to `--help`, and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type OptionName =
  | 'device'
  | 'client-credentials'
  | 'client-id'
  | 'client-secret-env'
  | 'private-key'
  | 'client-metadata-url'
  | 'scope'
  | 'resource'
  | 'no-resource'
  | 'resource-metadata'
  | 'as'
  | 'as-metadata'
  | 'redirect-port'
  | 'no-browser'
  | 'json'
  | 'help'
  | 'version';

const OPTIONS = {
  device: { type: 'boolean' },
  'client-credentials': { type: 'boolean' },
  'client-id': { type: 'string' },
  'client-secret-env': { type: 'string' },
  'private-key': { type: 'string' },
  'client-metadata-url': { type: 'string' },
  scope: { type: 'string', multiple: true },
  resource: { type: 'string' },
  'no-resource': { type: 'boolean' },
  'resource-metadata': { type: 'string' },
  as: { type: 'string' },
  'as-metadata': { type: 'string' },
  'redirect-port': { type: 'string' },
  'no-browser': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies Record<OptionName, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

const FLOW_OPTIONS: readonly OptionName[] = [
  'device',
  'client-credentials',
  'client-id',
  'client-secret-env',
  'private-key',
  'client-metadata-url',
  'scope',
  'resource',
  'no-resource',
  'resource-metadata',
  'as',
  'as-metadata',
  'redirect-port',
  'no-browser',
];

const COMMANDS = {
  login: { accepts: FLOW_OPTIONS, extra: 0 },
  tools: { accepts: [...FLOW_OPTIONS, 'json'], extra: 0 },
  call: { accepts: FLOW_OPTIONS, extra: 2 },
  token: { accepts: [], extra: 0 },
  logout: { accepts: [], extra: 0 },
  export: { accepts: [], extra: 0 },
  import: { accepts: [], extra: 0 },
} as const satisfies Record<string, { accepts: readonly OptionName[]; extra: number }>;

type CommandName = keyof typeof COMMANDS;

export const usage = `Usage: mcp-oauth <command> <url> [options]

Sign in to OAuth-protected MCP servers, and use them, from the command line.

Commands:
  login  <url>                      Sign in; prints who and which scopes
  token  <url>                      Print a fresh access token (refreshing it if needed)
  tools  <url> [--json]             List the server's tools (signs in first if needed)
  call   <url> <tool> [json-args]   Call one tool with a JSON object of arguments; print its result
  logout <url>                      Revoke the tokens and forget them
  export <url>                      Print a token bundle that "Import Token…" accepts
  import <url> < bundle.json        Store a token bundle read from standard input

Flow and client options (login, tools, call):
  --device                    Sign in with a device code (RFC 8628)
  --client-credentials        Use the client credentials grant (no user)
  --client-id ID              Use a pre-registered client
  --client-secret-env VAR     Read the client secret from environment variable VAR
  --private-key FILE          Authenticate the client with private_key_jwt, signing with the key in FILE
  --client-metadata-url URL   Use this Client ID Metadata Document URL as the client id
  --scope S                   Request scope S (repeatable; "a b" requests both)
  --resource URI              Send this RFC 8707 resource instead of the server URL
  --no-resource               Send no resource parameter (for Entra ID)
  --resource-metadata URL     Read the protected resource metadata from URL
  --as ISSUER                 Use this authorization server
  --as-metadata URL           Read the authorization server metadata from URL
  --redirect-port N           Receive the browser redirect at http://127.0.0.1:N/callback
  --no-browser                Print the sign-in URL instead of opening a browser

Other options:
  --json                      tools: print the tools as JSON
  -h, --help                  Show this help
  --version                   Show the version

Environment:
  BROWSER          The command that opens URLs (%s stands for the URL)
  MCP_OAUTH_HOME   Where tokens and client registrations are kept
                   (default: the platform config directory, ~/.config/mcp-oauth on Linux)

Exit codes: 0 on success, 1 on an OAuth or MCP error, 2 on bad usage.
`;

/** Parses `argv` (without the node and script paths). Throws {@link UsageError} on bad usage. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const tokens = lex(argv);
  const asks = (name: OptionName) => tokens.some((token) => token.kind === 'option' && token.name === name);
  if (asks('help')) return { command: 'help' };
  if (asks('version')) return { command: 'version' };
  const { positionals, values } = collect(tokens);

  const [name, url, ...rest] = positionals;
  if (name === undefined) throw new UsageError('Missing command; run "mcp-oauth --help" for the list.');
  if (name === 'help') return { command: 'help' };
  if (!isCommandName(name))
    throw new UsageError(`Unknown command ${JSON.stringify(name)}; run "mcp-oauth --help" for the list.`);

  const spec: { accepts: readonly OptionName[]; extra: number } = COMMANDS[name];
  for (const option of values.keys()) {
    if (!spec.accepts.includes(option)) throw new UsageError(`--${option} is not an option of "${name}".`);
  }
  if (url === undefined) throw new UsageError(`"${name}" needs the server URL: mcp-oauth ${name} <url>.`);
  const serverUrl = httpUrl(url, 'The server URL');
  if (rest.length > spec.extra) throw new UsageError(`Too many arguments for "${name}".`);

  switch (name) {
    case 'login':
      return { command: 'login', url: serverUrl, options: flowOptions(values) };
    case 'tools':
      return { command: 'tools', url: serverUrl, options: flowOptions(values), json: values.has('json') };
    case 'call': {
      const [tool, json] = rest;
      if (tool === undefined || tool === '')
        throw new UsageError('"call" needs a tool name: mcp-oauth call <url> <tool> [json-arguments].');
      return { command: 'call', url: serverUrl, options: flowOptions(values), tool, arguments: toolArguments(json) };
    }
    default:
      return { command: name, url: serverUrl };
  }
}

type Values = Map<OptionName, string[]>;

/** Splits argv into tokens, leniently: unknown options and missing values are judged by {@link collect}. */
function lex(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false, tokens: true }).tokens;
}

/** Gathers positionals and option values, with messages that never repeat a value. */
function collect(tokens: ReturnType<typeof lex>): { positionals: string[]; values: Values } {
  const positionals: string[] = [];
  const values: Values = new Map();
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const name = token.name;
    if (!isOptionName(name)) {
      if (name === 'client-secret' || name === 'secret') {
        throw new UsageError(
          'Secrets are never taken from the command line: put the secret in an environment variable and pass its name with --client-secret-env VAR.',
        );
      }
      throw new UsageError(`Unknown option ${token.rawName}; run "mcp-oauth --help" for the list.`);
    }
    const spec: { type: 'string' | 'boolean'; multiple?: boolean } = OPTIONS[name];
    const previous = values.get(name);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} does not take a value.`);
      values.set(name, []);
      continue;
    }
    const value = token.value;
    if (value === undefined || value === '' || (!token.inlineValue && value.startsWith('-'))) {
      throw new UsageError(
        `${token.rawName} needs a value (write ${token.rawName}=VALUE for one that starts with "-").`,
      );
    }
    if (previous && !spec.multiple) throw new UsageError(`${token.rawName} is given more than once.`);
    values.set(name, [...(previous ?? []), value]);
  }
  return { positionals, values };
}

function flowOptions(values: Values): FlowOptions {
  const one = (name: OptionName): string | undefined => values.get(name)?.[0];
  const has = (name: OptionName): boolean => values.has(name);

  if (has('device') && has('client-credentials'))
    throw new UsageError('Choose one of --device and --client-credentials.');
  const flow: FlowChoice = has('device') ? 'deviceCode' : has('client-credentials') ? 'clientCredentials' : 'auto';

  const clientId = one('client-id');
  const clientSecretEnv = one('client-secret-env');
  const privateKeyFile = one('private-key');
  const clientMetadataUrl = one('client-metadata-url');
  if (clientSecretEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(clientSecretEnv)) {
    throw new UsageError(
      '--client-secret-env takes the NAME of an environment variable (letters, digits, _), not the secret.',
    );
  }
  if (clientSecretEnv !== undefined && privateKeyFile !== undefined) {
    throw new UsageError('Choose one of --client-secret-env and --private-key.');
  }
  if ((clientSecretEnv !== undefined || privateKeyFile !== undefined) && clientId === undefined) {
    throw new UsageError(
      `${clientSecretEnv !== undefined ? '--client-secret-env' : '--private-key'} needs --client-id.`,
    );
  }
  if (clientMetadataUrl !== undefined && clientId !== undefined) {
    throw new UsageError('Choose one of --client-id and --client-metadata-url (the metadata URL is the client id).');
  }
  if (clientId !== undefined && hasControlCharacter(clientId))
    throw new UsageError('--client-id holds a control character.');

  if (has('resource') && has('no-resource')) throw new UsageError('Choose one of --resource and --no-resource.');
  const resource = one('resource');
  const resourceMetadata = one('resource-metadata');
  const authorizationServer = one('as');
  const authorizationServerMetadata = one('as-metadata');
  const redirectPort = one('redirect-port');
  if (redirectPort !== undefined && flow !== 'auto') {
    throw new UsageError(
      '--redirect-port applies only to the browser sign-in, not to --device or --client-credentials.',
    );
  }

  const options: { -readonly [K in keyof FlowOptions]: FlowOptions[K] } = {
    flow,
    scopes: scopesValue(values.get('scope') ?? []),
    openBrowser: !has('no-browser'),
  };
  if (clientId !== undefined) options.clientId = clientId;
  if (clientSecretEnv !== undefined) options.clientSecretEnv = clientSecretEnv;
  if (privateKeyFile !== undefined) options.privateKeyFile = privateKeyFile;
  if (clientMetadataUrl !== undefined) options.clientMetadataUrl = clientMetadataUrlValue(clientMetadataUrl);
  if (has('no-resource')) options.resource = false;
  if (resource !== undefined) options.resource = resourceValue(resource);
  if (resourceMetadata !== undefined) options.resourceMetadataUrl = httpUrl(resourceMetadata, '--resource-metadata');
  if (authorizationServer !== undefined) options.authorizationServer = httpUrl(authorizationServer, '--as');
  if (authorizationServerMetadata !== undefined) {
    options.authorizationServerMetadataUrl = httpUrl(authorizationServerMetadata, '--as-metadata');
  }
  if (redirectPort !== undefined) options.redirectPort = portValue(redirectPort);
  return options;
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

function httpUrl(text: string, what: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new UsageError(`${what} must be an http or https URL.`);
  }
  return text;
}

function clientMetadataUrlValue(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || url.protocol !== 'https:' || url.pathname === '/' || url.hash !== '') {
    throw new UsageError('--client-metadata-url must be an https URL with a path and no fragment.');
  }
  return text;
}

function resourceValue(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || url.hash !== '') throw new UsageError('--resource must be an absolute URI without a fragment.');
  return text;
}

function portValue(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError('--redirect-port must be a port number from 1 to 65535.');
  return port;
}

/** Splits each `--scope` on spaces, checks the RFC 6749 scope-token characters, and sorts the set. */
function scopesValue(given: readonly string[]): string[] {
  const scopes = new Set<string>();
  for (const value of given) {
    for (const scope of value.split(/\s+/).filter((s) => s !== '')) {
      if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))
        throw new UsageError('--scope holds a character that a scope cannot have.');
      scopes.add(scope);
    }
  }
  return [...scopes].sort();
}

function toolArguments(json: string | undefined): Record<string, unknown> {
  if (json === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new UsageError('The tool arguments are not valid JSON; pass one JSON object, like \'{"query":"mcp"}\'.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('The tool arguments must be a JSON object, like \'{"query":"mcp"}\'.');
  }
  return value as Record<string, unknown>;
}

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}
