import type { AuthOptions, EnterpriseIdpOptions } from '../../oauth/session/authOptions';
import {
  DPOP_POLICIES,
  FLOWS,
  REDIRECT_CHOICES,
  SCOPE_TOKEN,
  TOKEN_ENDPOINT_AUTH_METHODS,
} from '../../oauth/session/authOptionRules';
import type { ServerEntry } from './serverConfig';

/**
 * The fields of the settings, defined once: the parser (serverConfig.ts) validates by this table, and a unit
 * test holds package.json's `contributes.configuration` schema to it (same names, kinds, enums, patterns and
 * descriptions), so the schema VS Code completes with and the parser that decides can never drift apart.
 */

/** How a field's value is validated; each kind has one JSON schema type (see {@link SCHEMA_TYPES}). */
export type FieldKind =
  /** A non-empty string, matching `pattern` when there is one. */
  | 'text'
  /** An https URL (plain http on loopback). */
  | 'url'
  /** One of `values`. */
  | 'enum'
  | 'strings'
  /** An array of RFC 6749 scope tokens. */
  | 'scopes'
  /** An object of strings (environment variables). */
  | 'stringMap'
  /** An object of authorization request parameters (string to string, no reserved names). */
  | 'params'
  /** An integer from 1 to 65535. */
  | 'port'
  /** A URL, or `false`. */
  | 'resource'
  /** A file path. */
  | 'path'
  /** A nested object with its own table. */
  | 'object';

export interface SettingsField {
  readonly kind: FieldKind;
  readonly required?: boolean;
  readonly values?: readonly string[];
  readonly pattern?: RegExp;
  /** What the parser says when `pattern` does not match, after the field's name. */
  readonly patternProblem?: string;
  /** The package.nls.json key of the field's markdownDescription; its enum values' keys are `<key>.<value>`. */
  readonly description: string;
}

/** The JSON schema `type` of each kind (`resource` is `anyOf` a string and `false`). */
export const SCHEMA_TYPES: Record<FieldKind, string> = {
  text: 'string',
  url: 'string',
  enum: 'string',
  strings: 'array',
  scopes: 'array',
  stringMap: 'object',
  params: 'object',
  port: 'integer',
  resource: 'string|false',
  path: 'string',
  object: 'object',
};

/** An entry of `mcpOAuth.servers`. */
export const ENTRY_FIELDS = {
  name: { kind: 'text', required: true, description: 'config.servers.name' },
  url: { kind: 'url', required: true, description: 'config.servers.url' },
  id: {
    kind: 'text',
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    patternProblem: 'may hold letters, digits, ".", "_" and "-", starting with a letter or digit',
    description: 'config.servers.id',
  },
  transport: { kind: 'enum', values: ['http', 'stdio'], description: 'config.servers.transport' },
  command: { kind: 'text', description: 'config.servers.command' },
  args: { kind: 'strings', description: 'config.servers.args' },
  env: { kind: 'stringMap', description: 'config.servers.env' },
  tokenEnv: {
    kind: 'text',
    pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
    patternProblem: 'must be an environment variable name',
    description: 'config.servers.tokenEnv',
  },
  auth: { kind: 'object', description: 'config.servers.auth' },
} as const satisfies Record<keyof ServerEntry, SettingsField>;

/** The `auth` object of an entry: every field of the core's AuthOptions, and nothing else. */
export const AUTH_FIELDS = {
  flow: { kind: 'enum', values: FLOWS, description: 'config.servers.auth.flow' },
  clientId: { kind: 'text', description: 'config.servers.auth.clientId' },
  clientMetadataUrl: { kind: 'url', description: 'config.servers.auth.clientMetadataUrl' },
  scopes: { kind: 'scopes', pattern: SCOPE_TOKEN, description: 'config.servers.auth.scopes' },
  resource: { kind: 'resource', description: 'config.servers.auth.resource' },
  resourceMetadataUrl: { kind: 'url', description: 'config.servers.auth.resourceMetadataUrl' },
  authorizationServer: { kind: 'url', description: 'config.servers.auth.authorizationServer' },
  authorizationServerMetadataUrl: { kind: 'url', description: 'config.servers.auth.authorizationServerMetadataUrl' },
  redirect: { kind: 'enum', values: REDIRECT_CHOICES, description: 'config.servers.auth.redirect' },
  loopbackPort: { kind: 'port', description: 'config.servers.auth.loopbackPort' },
  tokenEndpointAuthMethod: {
    kind: 'enum',
    values: TOKEN_ENDPOINT_AUTH_METHODS,
    description: 'config.servers.auth.tokenEndpointAuthMethod',
  },
  dpop: { kind: 'enum', values: DPOP_POLICIES, description: 'config.servers.auth.dpop' },
  authorizationParams: { kind: 'params', description: 'config.servers.auth.authorizationParams' },
  workloadTokenFile: { kind: 'path', description: 'config.servers.auth.workloadTokenFile' },
} as const satisfies Record<keyof AuthOptions, SettingsField>;

/** `mcpOAuth.enterpriseIdp`. */
export const ENTERPRISE_IDP_FIELDS = {
  issuer: { kind: 'url', required: true, description: 'config.enterpriseIdp.issuer' },
  clientId: { kind: 'text', required: true, description: 'config.enterpriseIdp.clientId' },
  scopes: { kind: 'scopes', pattern: SCOPE_TOKEN, description: 'config.enterpriseIdp.scopes' },
} as const satisfies Record<keyof EnterpriseIdpOptions, SettingsField>;
