import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import type { DpopPolicy, EnterpriseIdpOptions, Flow } from '../oauth/session/authOptions';
import {
  authorizationParamProblem,
  DPOP_POLICIES,
  FLOWS,
  flowOnlyProblem,
  hasControlCharacter,
  issuerProblem,
  resourceProblem,
  SCOPE_TOKEN,
  workloadTokenFilePath,
} from '../oauth/session/authOptionRules';

/**
 * The command line of `mcp-oauth`, as the README's command-line reference describes it, parsed into a typed
 * {@link CliCommand}. Bad usage is a {@link UsageError} (exit code 2) with a one-line message. No flag takes a
 * secret: `--client-secret-env` takes the name of an environment variable, and messages never repeat an
 * option's value. The flags mean what the settings of the same name mean: both go through authOptionRules.ts.
 */

/** The grant to use; `auto` lets the core choose from the metadata. Same names as the `auth.flow` setting. */
export type FlowChoice = Exclude<Flow, 'none'>;

/** The flows `--flow` takes: those of `auth.flow` but `none` (a server without sign-in needs no command line). */
const CLI_FLOWS: readonly FlowChoice[] = FLOWS.filter((flow): flow is FlowChoice => flow !== 'none');

/** The discovery overrides, accepted by `login`, `tools`, `call` and `import`. */
export interface DiscoveryOptions {
  readonly resourceMetadataUrl?: string;
  /** An authorization server issuer to use when the server publishes no resource metadata. */
  readonly authorizationServer?: string;
  readonly authorizationServerMetadataUrl?: string;
}

/** The flow and client options accepted by `login`, `tools` and `call`. */
export interface FlowOptions extends DiscoveryOptions {
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
  /** The RFC 8707 resource: a URL on the server's origin to send instead of the server URL, `false` never to send one. */
  readonly resource?: string | false;
  /** A fixed loopback redirect port; ephemeral when absent. */
  readonly redirectPort?: number;
  readonly dpop?: DpopPolicy;
  /** Extra authorization request parameters, from `--authorize-param NAME=VALUE`. */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** `workloadIdentity`: the workload token's file, as an absolute path. */
  readonly workloadTokenFile?: string;
  /** `enterpriseManaged`: the company's identity provider, from `--idp`, `--idp-client-id` and `--idp-scope`. */
  readonly enterpriseIdp?: EnterpriseIdpOptions;
  /** The variable that holds the secret of the client at the identity provider (never the secret). */
  readonly idpClientSecretEnv?: string;
  /** `enterpriseManaged`: an ID token obtained elsewhere, in this file (absolute), instead of an IdP sign-in. */
  readonly idTokenFile?: string;
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
  | { readonly command: 'import'; readonly url: string; readonly options: DiscoveryOptions }
  | { readonly command: 'token' | 'logout' | 'export'; readonly url: string };

/** Bad usage: the CLI prints the message and a pointer to `--help`, and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type OptionName =
  | 'flow'
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
  | 'authorize-param'
  | 'dpop'
  | 'workload-token-file'
  | 'enterprise'
  | 'idp'
  | 'idp-client-id'
  | 'idp-client-secret-env'
  | 'idp-scope'
  | 'id-token-file'
  | 'json'
  | 'help'
  | 'version';

const OPTIONS = {
  flow: { type: 'string' },
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
  'authorize-param': { type: 'string', multiple: true },
  dpop: { type: 'string' },
  'workload-token-file': { type: 'string' },
  enterprise: { type: 'boolean' },
  idp: { type: 'string' },
  'idp-client-id': { type: 'string' },
  'idp-client-secret-env': { type: 'string' },
  'idp-scope': { type: 'string', multiple: true },
  'id-token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies Record<OptionName, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

const DISCOVERY_OPTIONS: readonly OptionName[] = ['resource-metadata', 'as', 'as-metadata'];

const FLOW_OPTIONS: readonly OptionName[] = [
  'flow',
  'device',
  'client-credentials',
  'client-id',
  'client-secret-env',
  'private-key',
  'client-metadata-url',
  'scope',
  'resource',
  'no-resource',
  ...DISCOVERY_OPTIONS,
  'redirect-port',
  'no-browser',
  'authorize-param',
  'dpop',
  'workload-token-file',
  'enterprise',
  'idp',
  'idp-client-id',
  'idp-client-secret-env',
  'idp-scope',
  'id-token-file',
];

const COMMANDS = {
  login: { accepts: FLOW_OPTIONS, extra: 0 },
  tools: { accepts: [...FLOW_OPTIONS, 'json'], extra: 0 },
  call: { accepts: FLOW_OPTIONS, extra: 2 },
  token: { accepts: [], extra: 0 },
  logout: { accepts: [], extra: 0 },
  export: { accepts: [], extra: 0 },
  import: { accepts: DISCOVERY_OPTIONS, extra: 0 },
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
  --flow NAME                 The grant: auto (the default), authorizationCode, deviceCode,
                              clientCredentials, enterpriseManaged or workloadIdentity
  --device                    Sign in with a device code (RFC 8628): --flow deviceCode
  --client-credentials        Use the client credentials grant (no user): --flow clientCredentials
  --client-id ID              Use a pre-registered client
  --client-secret-env VAR     Read the client secret from environment variable VAR
  --private-key FILE          Authenticate the client with private_key_jwt, signing with the key in FILE
  --client-metadata-url URL   Use this Client ID Metadata Document URL as the client id
  --scope S                   Request scope S (repeatable; "a b" requests both)
  --resource URL              Send this RFC 8707 resource (a URL on the server's origin)
  --no-resource               Send no resource parameter (for Entra ID)
  --redirect-port N           Receive the browser redirect at http://127.0.0.1:N/callback
  --no-browser                Print the sign-in URL instead of opening a browser
  --authorize-param NAME=VALUE
                              Add a parameter to the authorization request (repeatable); never one
                              the sign-in sets itself (client_id, redirect_uri, state, scope …)
  --dpop auto|required|off    RFC 9449 DPoP: when the server asks for it (the default), always, never
  --workload-token-file PATH  Workload identity: the file with the platform's workload token (a JWT),
                              read again for every token request (--flow workloadIdentity)
  --enterprise                Enterprise-managed sign-in through your company's identity provider
                              (--flow enterpriseManaged), with:
  --idp ISSUER                  the identity provider
  --idp-client-id ID            this client's id there
  --idp-client-secret-env VAR   the variable that holds that client's secret
  --idp-scope S                 a scope to request there (repeatable)
  --id-token-file FILE          an ID token obtained elsewhere, instead of signing in there

Discovery options (login, tools, call, import):
  --resource-metadata URL     Read the protected resource metadata from URL
  --as ISSUER                 Use this authorization server
  --as-metadata URL           Read the authorization server metadata from URL

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
      return { command: 'login', url: serverUrl, options: flowOptions(values, serverUrl) };
    case 'tools':
      return { command: 'tools', url: serverUrl, options: flowOptions(values, serverUrl), json: values.has('json') };
    case 'call': {
      const [tool, json] = rest;
      if (tool === undefined || tool === '')
        throw new UsageError('"call" needs a tool name: mcp-oauth call <url> <tool> [json-arguments].');
      return {
        command: 'call',
        url: serverUrl,
        options: flowOptions(values, serverUrl),
        tool,
        arguments: toolArguments(json),
      };
    }
    case 'import':
      return { command: 'import', url: serverUrl, options: discoveryOptions(values) };
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

function flowOptions(values: Values, serverUrl: string): FlowOptions {
  const one = (name: OptionName): string | undefined => values.get(name)?.[0];
  const has = (name: OptionName): boolean => values.has(name);

  const flowFlags = (['flow', 'device', 'client-credentials', 'enterprise'] as const).filter(has);
  if (flowFlags.length > 1) throw new UsageError(`Choose one of ${flowFlags.map((f) => `--${f}`).join(' and ')}.`);
  const chosen: FlowChoice = has('device')
    ? 'deviceCode'
    : has('client-credentials')
      ? 'clientCredentials'
      : has('enterprise')
        ? 'enterpriseManaged'
        : flowValue(one('flow'));
  // A workload token file names the flow by itself.
  const flow: FlowChoice = chosen === 'auto' && has('workload-token-file') ? 'workloadIdentity' : chosen;

  const clientId = one('client-id');
  const clientSecretEnv = one('client-secret-env');
  const privateKeyFile = one('private-key');
  const clientMetadataUrl = one('client-metadata-url');
  if (clientSecretEnv !== undefined) variableName(clientSecretEnv, '--client-secret-env');
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
  const redirectPort = one('redirect-port');
  if (redirectPort !== undefined && flow !== 'auto' && flow !== 'authorizationCode') {
    throw new UsageError('--redirect-port applies only to the browser sign-in (--flow auto or authorizationCode).');
  }
  const dpop = one('dpop');
  const workloadTokenFile = one('workload-token-file');

  const options: { -readonly [K in keyof FlowOptions]: FlowOptions[K] } = {
    flow,
    scopes: scopesValue(values.get('scope') ?? [], '--scope'),
    openBrowser: !has('no-browser'),
    ...discoveryOptions(values),
  };
  if (clientId !== undefined) options.clientId = clientId;
  if (clientSecretEnv !== undefined) options.clientSecretEnv = clientSecretEnv;
  if (privateKeyFile !== undefined) options.privateKeyFile = privateKeyFile;
  if (clientMetadataUrl !== undefined) options.clientMetadataUrl = clientMetadataUrlValue(clientMetadataUrl);
  if (has('no-resource')) options.resource = false;
  if (resource !== undefined) options.resource = resourceValue(resource, serverUrl);
  if (redirectPort !== undefined) options.redirectPort = portValue(redirectPort);
  if (dpop !== undefined) options.dpop = dpopValue(dpop);
  if (has('authorize-param')) options.authorizationParams = authorizationParamsValue(values.get('authorize-param')!);
  if (workloadTokenFile !== undefined) options.workloadTokenFile = workloadTokenFileValue(workloadTokenFile, flow);
  const enterpriseIdp = enterpriseIdpValue(values, flow);
  if (enterpriseIdp) options.enterpriseIdp = enterpriseIdp;
  const idpSecretEnv = one('idp-client-secret-env');
  const idTokenFile = one('id-token-file');
  if ((idpSecretEnv !== undefined || idTokenFile !== undefined) && !enterpriseIdp)
    throw new UsageError(
      `${idpSecretEnv !== undefined ? '--idp-client-secret-env' : '--id-token-file'} needs --idp ISSUER.`,
    );
  if (idpSecretEnv !== undefined) options.idpClientSecretEnv = variableName(idpSecretEnv, '--idp-client-secret-env');
  if (idTokenFile !== undefined) options.idTokenFile = filePath(idTokenFile, '--id-token-file');
  return options;
}

function discoveryOptions(values: Values): DiscoveryOptions {
  const resourceMetadata = values.get('resource-metadata')?.[0];
  const authorizationServer = values.get('as')?.[0];
  const authorizationServerMetadata = values.get('as-metadata')?.[0];
  return {
    ...(resourceMetadata !== undefined
      ? { resourceMetadataUrl: httpUrl(resourceMetadata, '--resource-metadata') }
      : {}),
    ...(authorizationServer !== undefined ? { authorizationServer: httpUrl(authorizationServer, '--as') } : {}),
    ...(authorizationServerMetadata !== undefined
      ? { authorizationServerMetadataUrl: httpUrl(authorizationServerMetadata, '--as-metadata') }
      : {}),
  };
}

function flowValue(text: string | undefined): FlowChoice {
  if (text === undefined) return 'auto';
  const flow = CLI_FLOWS.find((f) => f === text);
  if (!flow) throw new UsageError(`--flow must be one of ${CLI_FLOWS.join(', ')}.`);
  return flow;
}

function dpopValue(text: string): DpopPolicy {
  const policy = DPOP_POLICIES.find((p) => p === text);
  if (!policy) throw new UsageError(`--dpop must be one of ${DPOP_POLICIES.join(', ')}.`);
  return policy;
}

/** `--authorize-param NAME=VALUE`, each checked by the rule the `auth.authorizationParams` setting follows. */
function authorizationParamsValue(given: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const text of given) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UsageError('--authorize-param takes NAME=VALUE, like --authorize-param prompt=consent.');
    const [name, value] = [text.slice(0, eq), text.slice(eq + 1)];
    const problem = authorizationParamProblem(name, value);
    if (problem) throw new UsageError(`--authorize-param ${problem}.`);
    if (Object.hasOwn(params, name)) throw new UsageError(`--authorize-param gives "${name}" more than once.`);
    params[name] = value;
  }
  return params;
}

/** The workload token file as an absolute path: `~/` is the home directory, a relative path is from here. */
function workloadTokenFileValue(text: string, flow: FlowChoice): string {
  const flowIssue = flowOnlyProblem('workloadTokenFile', flow);
  if (flowIssue) throw new UsageError(`--workload-token-file ${flowIssue} (--flow workloadIdentity).`);
  return filePath(text, '--workload-token-file');
}

/** The NAME of an environment variable: never a secret on the command line. */
function variableName(text: string, option: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text))
    throw new UsageError(`${option} takes the NAME of an environment variable (letters, digits, _), not the secret.`);
  return text;
}

/** A file named on the command line, as an absolute path: `~/` is the home directory, a relative path is from here. */
function filePath(text: string, option: string): string {
  const file = workloadTokenFilePath(text, { home: homedir(), cwd: process.cwd() });
  if ('problem' in file) throw new UsageError(`${option} ${file.problem}.`);
  return file.path;
}

/** `--idp ISSUER --idp-client-id ID [--idp-scope S …]`, which `--flow enterpriseManaged` needs. */
function enterpriseIdpValue(values: Values, flow: FlowChoice): EnterpriseIdpOptions | undefined {
  const issuer = values.get('idp')?.[0];
  const clientId = values.get('idp-client-id')?.[0];
  if (issuer === undefined) {
    if (clientId !== undefined || values.has('idp-scope'))
      throw new UsageError(`${clientId !== undefined ? '--idp-client-id' : '--idp-scope'} needs --idp ISSUER.`);
    if (flow === 'enterpriseManaged')
      throw new UsageError("--enterprise needs your company's identity provider: --idp ISSUER --idp-client-id ID.");
    return undefined;
  }
  const flowIssue = flowOnlyProblem('enterpriseIdp', flow);
  if (flowIssue) throw new UsageError(`--idp ${flowIssue} (--flow enterpriseManaged).`);
  const issuerIssue = issuerProblem(issuer);
  if (issuerIssue) throw new UsageError(`--idp ${issuerIssue}.`);
  if (clientId === undefined) throw new UsageError('--idp needs --idp-client-id ID.');
  if (hasControlCharacter(clientId)) throw new UsageError('--idp-client-id holds a control character.');
  const scopes = scopesValue(values.get('idp-scope') ?? [], '--idp-scope');
  return { issuer, clientId, ...(scopes.length ? { scopes } : {}) };
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

/** The rule of the `auth.resource` setting: a URL on the server's own origin. */
function resourceValue(text: string, serverUrl: string): string {
  const problem = resourceProblem(text, serverUrl);
  if (problem) throw new UsageError(`--resource ${problem}; --no-resource sends none.`);
  return text;
}

function portValue(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError('--redirect-port must be a port number from 1 to 65535.');
  return port;
}

/** Splits each `--scope` on spaces, checks the RFC 6749 scope-token characters, and sorts the set. */
function scopesValue(given: readonly string[], option: string): string[] {
  const scopes = new Set<string>();
  for (const value of given) {
    for (const scope of value.split(/\s+/).filter((s) => s !== '')) {
      if (!SCOPE_TOKEN.test(scope)) throw new UsageError(`${option} holds a character that a scope cannot have.`);
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
