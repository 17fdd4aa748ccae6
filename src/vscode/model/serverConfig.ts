import type { AuthOptions, Flow, TokenEndpointAuthMethod } from '../../oauth/session/authOptions';
import { McpOAuthError, quote } from '../../oauth/errors';
import { canonicalServerUrl, secureUrl } from '../../oauth/http/url';

/** One validated entry of `mcpOAuth.servers` (CONTRACT.md). Never holds a secret. */
export interface ServerEntry {
  readonly id: string;
  readonly name: string;
  /** Canonical (see canonicalServerUrl). */
  readonly url: string;
  readonly transport: 'http' | 'stdio';
  readonly command?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly tokenEnv?: string;
  readonly auth: AuthOptions & {
    readonly redirect: 'auto' | 'uriHandler' | 'loopback';
    readonly loopbackPort?: number;
  };
}

/** An entry that could not be used, reported by name in the tree and the log. */
export interface InvalidEntry {
  readonly label: string;
  readonly index: number;
  readonly message: string;
}

export interface ParsedServers {
  readonly servers: readonly ServerEntry[];
  readonly invalid: readonly InvalidEntry[];
}

const FLOWS: readonly Flow[] = ['auto', 'authorizationCode', 'deviceCode', 'clientCredentials', 'none'];
const METHODS: readonly TokenEndpointAuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];
const REDIRECTS = ['auto', 'uriHandler', 'loopback'] as const;
const AUTH_KEYS = new Set([
  'flow',
  'clientId',
  'clientMetadataUrl',
  'scopes',
  'resource',
  'resourceMetadataUrl',
  'authorizationServer',
  'authorizationServerMetadataUrl',
  'redirect',
  'loopbackPort',
  'tokenEndpointAuthMethod',
]);
const ENTRY_KEYS = new Set(['name', 'url', 'id', 'transport', 'command', 'args', 'env', 'tokenEnv', 'auth']);
const SECRET_LIKE = /secret|password|token$/i;

/** A stable id from a name: lower-case, dashes, no leading or trailing dash. */
export function slug(name: string): string {
  return (
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'server'
  );
}

/**
 * Validates the `mcpOAuth.servers` setting. A malformed entry never blocks the others: it is returned in
 * `invalid` with a message naming the field. Duplicate ids are invalid after the first.
 */
export function parseServers(value: unknown): ParsedServers {
  const servers: ServerEntry[] = [];
  const invalid: InvalidEntry[] = [];
  if (value === undefined || value === null) return { servers, invalid };
  if (!Array.isArray(value))
    return {
      servers,
      invalid: [
        { label: 'mcpOAuth.servers', index: -1, message: 'mcpOAuth.servers must be an array of server entries' },
      ],
    };
  const seen = new Set<string>();
  value.forEach((raw, index) => {
    const label =
      typeof (raw as { name?: unknown })?.name === 'string' && (raw as { name: string }).name.trim()
        ? (raw as { name: string }).name.trim()
        : `entry ${index + 1}`;
    try {
      const entry = parseEntry(raw);
      if (seen.has(entry.id))
        throw new McpOAuthError(
          'invalid_config',
          `the id ${JSON.stringify(entry.id)} is used by an earlier entry; give this one its own "id"`,
        );
      seen.add(entry.id);
      servers.push(entry);
    } catch (error) {
      invalid.push({
        label,
        index,
        message: error instanceof McpOAuthError ? error.message : 'the entry is malformed',
      });
    }
  });
  return { servers, invalid };
}

function fail(message: string): never {
  throw new McpOAuthError('invalid_config', message);
}

/** Validates one entry; throws `McpOAuthError` `invalid_config` naming the field. */
export function parseEntry(raw: unknown): ServerEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('each server entry must be an object');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!ENTRY_KEYS.has(key))
      fail(
        `${quote(key, 64)} is not a server setting${SECRET_LIKE.test(key) ? ' (secrets never go in settings)' : ''}`,
      );
  const name = str(o, 'name', true)!.trim();
  const urlText = str(o, 'url', true)!;
  let url: string;
  try {
    url = canonicalServerUrl(urlText);
  } catch (error) {
    fail(`"url": ${(error as Error).message}`);
  }
  const id = str(o, 'id') ?? slug(name);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id))
    fail('"id" may hold letters, digits, ".", "_" and "-", starting with a letter or digit');
  const transport = (str(o, 'transport') ?? 'http') as ServerEntry['transport'];
  if (transport !== 'http' && transport !== 'stdio') fail('"transport" must be "http" or "stdio"');
  const command = str(o, 'command');
  if (transport === 'stdio' && !command) fail('"command" is required for a stdio server');
  const args =
    o.args === undefined
      ? undefined
      : Array.isArray(o.args) && o.args.every((a) => typeof a === 'string')
        ? (o.args as string[])
        : fail('"args" must be an array of strings');
  const env =
    o.env === undefined ? undefined : isStringRecord(o.env) ? o.env : fail('"env" must be an object of strings');
  const tokenEnv = str(o, 'tokenEnv');
  if (tokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv))
    fail('"tokenEnv" must be an environment variable name');
  return {
    id,
    name,
    url,
    transport,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    ...(env ? { env } : {}),
    ...(tokenEnv ? { tokenEnv } : {}),
    auth: parseAuth(o.auth),
  };
}

function parseAuth(raw: unknown): ServerEntry['auth'] {
  if (raw === undefined) return { redirect: 'auto' };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('"auth" must be an object');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!AUTH_KEYS.has(key))
      fail(
        `${quote(`auth.${key}`, 64)} is not an auth setting${SECRET_LIKE.test(key) ? ' (secrets never go in settings: you are asked for them, and they are kept in SecretStorage)' : ''}`,
      );
  const flow = str(o, 'flow', false, 'auth.') as Flow | undefined;
  if (flow !== undefined && !FLOWS.includes(flow)) fail(`"auth.flow" must be one of ${FLOWS.join(', ')}`);
  const method = str(o, 'tokenEndpointAuthMethod', false, 'auth.') as TokenEndpointAuthMethod | undefined;
  if (method !== undefined && !METHODS.includes(method))
    fail(`"auth.tokenEndpointAuthMethod" must be one of ${METHODS.join(', ')}`);
  const redirect = (str(o, 'redirect', false, 'auth.') ?? 'auto') as ServerEntry['auth']['redirect'];
  if (!REDIRECTS.includes(redirect)) fail('"auth.redirect" must be "auto", "uriHandler" or "loopback"');
  const scopes =
    o.scopes === undefined
      ? undefined
      : Array.isArray(o.scopes) && o.scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))
        ? (o.scopes as string[])
        : fail('"auth.scopes" must be an array of scope strings');
  let resource: string | false | undefined;
  if (o.resource === false) resource = false;
  else if (o.resource !== undefined) resource = url(o, 'resource');
  const loopbackPort =
    o.loopbackPort === undefined
      ? undefined
      : Number.isInteger(o.loopbackPort) && (o.loopbackPort as number) > 0 && (o.loopbackPort as number) < 65536
        ? (o.loopbackPort as number)
        : fail('"auth.loopbackPort" must be a port number (1–65535)');
  const clientMetadataUrl = url(o, 'clientMetadataUrl');
  if (clientMetadataUrl && (!clientMetadataUrl.startsWith('https://') || new URL(clientMetadataUrl).pathname === '/'))
    fail('"auth.clientMetadataUrl" must be an https URL with a path');
  const options = {
    flow,
    clientId: str(o, 'clientId', false, 'auth.'),
    clientMetadataUrl,
    scopes,
    resource,
    resourceMetadataUrl: url(o, 'resourceMetadataUrl'),
    authorizationServer: url(o, 'authorizationServer'),
    authorizationServerMetadataUrl: url(o, 'authorizationServerMetadataUrl'),
    tokenEndpointAuthMethod: method,
    redirect,
    loopbackPort,
  };
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as unknown as ServerEntry['auth'];
}

function str(o: Record<string, unknown>, key: string, required = false, prefix = ''): string | undefined {
  const value = o[key];
  if (value === undefined) return required ? fail(`"${prefix}${key}" is required`) : undefined;
  if (typeof value !== 'string' || !value.trim()) fail(`"${prefix}${key}" must be a non-empty string`);
  return value;
}

function url(o: Record<string, unknown>, key: string): string | undefined {
  const value = str(o, key, false, 'auth.');
  if (value === undefined) return undefined;
  try {
    secureUrl(value, `"auth.${key}"`);
  } catch (error) {
    fail((error as Error).message);
  }
  return value;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
