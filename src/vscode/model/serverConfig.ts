import { homedir } from 'node:os';
import type { AuthOptions, EnterpriseIdpOptions } from '../../oauth/session/authOptions';
import {
  authorizationParamProblem,
  flowOnlyProblem,
  hasControlCharacter,
  issuerProblem,
  resourceProblem,
  workloadTokenFilePath,
} from '../../oauth/session/authOptionRules';
import { McpOAuthError, quote } from '../../oauth/errors';
import { canonicalServerUrl, secureUrl } from '../../oauth/http/url';
import { AUTH_FIELDS, ENTERPRISE_IDP_FIELDS, ENTRY_FIELDS, type FieldKind, type SettingsField } from './settingsFields';

/** One validated entry of `mcpOAuth.servers` (see the README's settings reference). Never holds a secret. */
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

/** All of the `mcpOAuth.*` settings that sign-in reads, validated together (see {@link parseSettings}). */
export interface ParsedSettings extends ParsedServers {
  readonly enterpriseIdp?: EnterpriseIdpOptions;
}

/** `mcpOAuth.enterpriseIdp`, validated: absent, a usable value, or the reason it is not one. */
export type EnterpriseIdpSetting =
  | { readonly ok: true; readonly enterpriseIdp?: EnterpriseIdpOptions }
  | { readonly ok: false; readonly error: McpOAuthError };

const SECRET_LIKE = /secret|password|token$/i;
const SECRET_HINT = ' (secrets never go in settings: you are asked for them, and they are kept in SecretStorage)';

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
 * Validates the settings the extension signs in with: `mcpOAuth.servers` and `mcpOAuth.enterpriseIdp`. On
 * top of {@link parseServers}, an entry whose `auth.flow` is `enterpriseManaged` is invalid (reported by name,
 * like any malformed entry) while no valid enterprise identity provider is set, and a malformed
 * `mcpOAuth.enterpriseIdp` is reported under its own name. Neither blocks anything else.
 */
export function parseSettings(values: { readonly servers: unknown; readonly enterpriseIdp?: unknown }): ParsedSettings {
  const idp = parseEnterpriseIdp(values.enterpriseIdp);
  const enterpriseIdp = idp.ok ? idp.enterpriseIdp : undefined;
  const parsed = parseServerList(values.servers, (entry) => {
    if (entry.auth.flow !== 'enterpriseManaged' || enterpriseIdp) return;
    fail(
      idp.ok
        ? 'auth.flow "enterpriseManaged" signs in through your company\'s identity provider: set mcpOAuth.enterpriseIdp (its issuer and client id) in your user settings'
        : 'auth.flow "enterpriseManaged" signs in through mcpOAuth.enterpriseIdp, which is not valid: fix that setting first',
    );
  });
  const idpProblem: InvalidEntry[] = idp.ok
    ? []
    : [{ label: 'mcpOAuth.enterpriseIdp', index: -1, message: idp.error.message }];
  return {
    servers: parsed.servers,
    invalid: [...idpProblem, ...parsed.invalid],
    ...(enterpriseIdp ? { enterpriseIdp } : {}),
  };
}

/**
 * Validates the `mcpOAuth.servers` setting, each entry on its own. A malformed entry never blocks the others:
 * it is returned in `invalid` with a message naming the field. Duplicate ids are invalid after the first.
 */
export function parseServers(value: unknown): ParsedServers {
  return parseServerList(value, () => undefined);
}

function parseServerList(value: unknown, check: (entry: ServerEntry) => void): ParsedServers {
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
      check(entry);
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

/**
 * Validates `mcpOAuth.enterpriseIdp`: `{ issuer, clientId, scopes? }`, the issuer an https URL (plain http
 * only on loopback). Never throws: a malformed value comes back as an `invalid_config` error naming the field.
 */
export function parseEnterpriseIdp(value: unknown): EnterpriseIdpSetting {
  if (value === undefined || value === null) return { ok: true };
  try {
    const v = readFields(value, ENTERPRISE_IDP_FIELDS, IDP, 'mcpOAuth.enterpriseIdp');
    const issuer = v.issuer!;
    const clientId = v.clientId!;
    const problem = issuerProblem(issuer);
    if (problem) fail(`"mcpOAuth.enterpriseIdp.issuer" ${problem}`);
    if (hasControlCharacter(clientId)) fail('"mcpOAuth.enterpriseIdp.clientId" holds a control character');
    return { ok: true, enterpriseIdp: { issuer, clientId, ...(v.scopes ? { scopes: v.scopes } : {}) } };
  } catch (error) {
    if (error instanceof McpOAuthError) return { ok: false, error };
    throw error;
  }
}

function fail(message: string): never {
  throw new McpOAuthError('invalid_config', message);
}

/** Validates one entry; throws `McpOAuthError` `invalid_config` naming the field. */
export function parseEntry(raw: unknown): ServerEntry {
  const v = readFields(raw, ENTRY_FIELDS, ENTRY, 'each server entry');
  const name = v.name!.trim();
  const url = canonicalServerUrl(v.url!);
  const id = v.id ?? slug(name);
  const transport = v.transport ?? 'http';
  if (transport === 'stdio' && !v.command) fail('"command" is required for a stdio server');
  const auth = parseAuth(v.auth, url);
  if (transport === 'stdio' && auth.dpop === 'required')
    fail(
      '"auth.dpop" cannot be "required" for a stdio server: its token goes into the process environment, where a DPoP-bound token is of no use (the key never leaves MCP OAuth); use "off"',
    );
  return {
    id,
    name,
    url,
    transport,
    ...(v.command ? { command: v.command } : {}),
    ...(v.args ? { args: v.args } : {}),
    ...(v.env ? { env: v.env } : {}),
    ...(v.tokenEnv ? { tokenEnv: v.tokenEnv } : {}),
    // A stdio server is handed the token itself, so it gets a Bearer token.
    auth: transport === 'stdio' ? { ...auth, dpop: 'off' } : auth,
  };
}

/** The `auth` object: its fields by the table, then the rules that relate them to each other and to `url`. */
function parseAuth(raw: unknown, serverUrl: string): ServerEntry['auth'] {
  if (raw === undefined) return { redirect: 'auto' };
  const v = readFields(raw, AUTH_FIELDS, AUTH, '"auth"');
  if (
    v.clientMetadataUrl !== undefined &&
    (!v.clientMetadataUrl.startsWith('https://') || new URL(v.clientMetadataUrl).pathname === '/')
  )
    fail('"auth.clientMetadataUrl" must be an https URL with a path');
  const resourceIssue = typeof v.resource === 'string' ? resourceProblem(v.resource, serverUrl) : undefined;
  if (resourceIssue) fail(`"auth.resource" ${resourceIssue}, or false`);
  let workloadTokenFile: string | undefined;
  if (v.workloadTokenFile !== undefined) {
    const flowIssue = flowOnlyProblem('workloadTokenFile', v.flow);
    if (flowIssue) fail(`"auth.workloadTokenFile" ${flowIssue} ("auth.flow": "workloadIdentity")`);
    const file = workloadTokenFilePath(v.workloadTokenFile, { home: homedir() });
    if ('problem' in file) fail(`"auth.workloadTokenFile" ${file.problem}`);
    workloadTokenFile = file.path;
  }
  const options = { ...v, redirect: v.redirect ?? 'auto', workloadTokenFile };
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as unknown as ServerEntry['auth'];
}

/** Where a table's fields live, for the messages about them. */
interface Place {
  readonly prefix: string;
  readonly noun: string;
  readonly secretHint: string;
}
const ENTRY: Place = { prefix: '', noun: 'a server setting', secretHint: ' (secrets never go in settings)' };
const AUTH: Place = { prefix: 'auth.', noun: 'an auth setting', secretHint: SECRET_HINT };
const IDP: Place = {
  prefix: 'mcpOAuth.enterpriseIdp.',
  noun: 'an enterprise identity provider setting',
  secretHint: SECRET_HINT,
};

/** What each kind of field holds once validated. */
interface KindValues {
  text: string;
  url: string;
  enum: string;
  strings: string[];
  scopes: string[];
  stringMap: Record<string, string>;
  params: Record<string, string>;
  port: number;
  resource: string | false;
  path: string;
  object: unknown;
}
type ValueOf<F extends SettingsField> = F extends { readonly values: readonly (infer V)[] } ? V : KindValues[F['kind']];
type Values<T extends Readonly<Record<string, SettingsField>>> = { [K in keyof T]?: ValueOf<T[K]> };

/**
 * The fields of one object by its table: a key the table does not have is refused (a secret's name is told
 * that secrets never go in settings), a required one must be there, and each value must be of its kind.
 */
function readFields<T extends Readonly<Record<string, SettingsField>>>(
  raw: unknown,
  fields: T,
  place: Place,
  what: string,
): Values<T> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${what} must be an object`);
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!Object.hasOwn(fields, key))
      fail(
        `${quote(`${place.prefix}${key}`, 64)} is not ${place.noun}${SECRET_LIKE.test(key) ? place.secretHint : ''}`,
      );
  const values: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields) as [string, SettingsField][]) {
    const value = Object.hasOwn(o, key) ? o[key] : undefined;
    const name = `"${place.prefix}${key}"`;
    if (value === undefined) {
      if (field.required) fail(`${name} is required`);
      continue;
    }
    values[key] = checkValue(value, field, name);
  }
  return values as Values<T>;
}

const KIND_CHECKS: { [K in FieldKind]: (value: unknown, field: SettingsField, name: string) => KindValues[K] } = {
  text: (value, field, name) => {
    const text = nonEmpty(value, name);
    if (field.pattern && !field.pattern.test(text)) fail(`${name} ${field.patternProblem}`);
    return text;
  },
  url: (value, _field, name) => {
    const text = nonEmpty(value, name);
    try {
      secureUrl(text, name);
    } catch (error) {
      fail((error as Error).message);
    }
    return text;
  },
  enum: (value, field, name) => {
    const values = field.values!;
    if (typeof value !== 'string' || !values.includes(value))
      fail(`${name} must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
    return value;
  },
  strings: (value, _field, name) =>
    Array.isArray(value) && value.every((s) => typeof s === 'string')
      ? value
      : fail(`${name} must be an array of strings`),
  scopes: (value, field, name) =>
    Array.isArray(value) && value.every((s) => typeof s === 'string' && field.pattern!.test(s))
      ? value
      : fail(`${name} must be an array of scope strings`),
  stringMap: (value, _field, name) => {
    if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string'))
      fail(`${name} must be an object of strings`);
    return value as Record<string, string>;
  },
  params: (value, _field, name) => {
    if (!isObject(value)) fail(`${name} must be an object of parameter names and their string values`);
    for (const [param, text] of Object.entries(value)) {
      const problem = authorizationParamProblem(param, text);
      if (problem) fail(`${name} ${problem}`);
    }
    return { ...(value as Record<string, string>) };
  },
  port: (value, _field, name) =>
    Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536
      ? (value as number)
      : fail(`${name} must be a port number (1–65535)`),
  resource: (value, _field, name) =>
    value === false || (typeof value === 'string' && value.trim())
      ? (value as string | false)
      : fail(`${name} must be a URL on the server's own origin, or false`),
  path: (value, _field, name) => nonEmpty(value, name),
  object: (value) => value,
};

function checkValue(value: unknown, field: SettingsField, name: string): unknown {
  return KIND_CHECKS[field.kind](value, field, name);
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value !== 'string' || !value.trim()) fail(`${name} must be a non-empty string`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
