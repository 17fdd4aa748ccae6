import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { McpOAuthError } from '../../src/oauth/errors';
import { RESERVED_AUTHORIZATION_PARAMS } from '../../src/oauth/session/authOptions';
import { PARAMETER_NAME, REPLACING_AUTHORIZATION_PARAMS } from '../../src/oauth/session/authOptionRules';
import { parseEnterpriseIdp, parseEntry } from '../../src/vscode/model/serverConfig';
import {
  AUTH_FIELDS,
  ENTERPRISE_IDP_FIELDS,
  ENTRY_FIELDS,
  SCHEMA_TYPES,
  type SettingsField,
} from '../../src/vscode/model/settingsFields';

/**
 * The settings are defined once, in settingsFields.ts: package.json's `contributes.configuration` (what VS Code
 * completes, hovers and underlines) must say exactly what that table says (the parser's rules), field by field.
 */

const root = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const properties = pkg.contributes.configuration.properties;

type Schema = Record<string, unknown> & {
  type?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  additionalProperties?: unknown;
  propertyNames?: Schema & { not?: Schema };
};

const sameList = (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** The JSON schema type of a property, written as {@link SCHEMA_TYPES} writes it. */
function schemaType(schema: Schema): string {
  if (schema.anyOf) {
    const [text, flag] = schema.anyOf;
    return text?.type === 'string' &&
      flag?.type === 'boolean' &&
      sameList(flag.enum, [false]) &&
      schema.anyOf.length === 2
      ? 'string|false'
      : JSON.stringify(schema.anyOf.map((s) => s.type));
  }
  return String(schema.type);
}

/** How one property differs from its field in the table. */
function fieldDrift(name: string, field: SettingsField, schema: Schema): string[] {
  const drift: string[] = [];
  const differ = (what: string, schemaValue: unknown, tableValue: unknown) =>
    drift.push(
      `${name}: ${what} is ${JSON.stringify(schemaValue)} in package.json, ${JSON.stringify(tableValue)} in the table`,
    );
  const type = schemaType(schema);
  if (type !== SCHEMA_TYPES[field.kind]) differ('the type', type, SCHEMA_TYPES[field.kind]);
  if (schema.markdownDescription !== `%${field.description}%`)
    differ('the description', schema.markdownDescription, `%${field.description}%`);
  if (field.kind === 'enum') {
    if (!sameList(schema.enum, field.values)) differ('the enum', schema.enum, field.values);
    const descriptions = field.values!.map((v) => `%${field.description}.${v}%`);
    if (!sameList(schema.markdownEnumDescriptions as unknown[], descriptions))
      differ('the enum descriptions', schema.markdownEnumDescriptions, descriptions);
  } else if (schema.enum !== undefined) differ('the enum', schema.enum, undefined);
  const pattern = field.kind === 'scopes' ? schema.items?.pattern : field.kind === 'text' ? schema.pattern : undefined;
  if (pattern !== field.pattern?.source && (field.kind === 'text' || field.kind === 'scopes'))
    differ('the pattern', pattern, field.pattern?.source);
  const itemType = schema.items?.type;
  if ((field.kind === 'strings' || field.kind === 'scopes') && itemType !== 'string')
    differ('the item type', itemType, 'string');
  const valueType = (schema.additionalProperties as Schema | undefined)?.type;
  if ((field.kind === 'stringMap' || field.kind === 'params') && valueType !== 'string')
    differ('the value type', valueType, 'string');
  if (field.kind === 'params') {
    const refused = [...RESERVED_AUTHORIZATION_PARAMS, ...REPLACING_AUTHORIZATION_PARAMS];
    if (!sameList(schema.propertyNames?.not?.enum, refused))
      differ('the refused names', schema.propertyNames?.not?.enum, refused);
    if (schema.propertyNames?.pattern !== PARAMETER_NAME.source)
      differ('the name pattern', schema.propertyNames?.pattern, PARAMETER_NAME.source);
  }
  if (field.kind === 'port' && (schema.minimum !== 1 || schema.maximum !== 65535))
    differ('the range', [schema.minimum, schema.maximum], [1, 65535]);
  return drift;
}

/** How an object schema (its properties and `required`) differs from a table. */
function schemaDrift(where: string, schema: Schema, fields: Readonly<Record<string, SettingsField>>): string[] {
  const props = schema.properties ?? {};
  const drift: string[] = [];
  for (const name of Object.keys(fields))
    if (!Object.hasOwn(props, name)) drift.push(`${where}.${name}: in the table, missing from package.json`);
  for (const name of Object.keys(props))
    if (!Object.hasOwn(fields, name)) drift.push(`${where}.${name}: in package.json, not in the table`);
  const required = Object.keys(fields).filter((name) => fields[name]!.required);
  if (!sameList([...(schema.required ?? [])].sort(), required.sort()))
    drift.push(
      `${where}: required is ${JSON.stringify(schema.required)} in package.json, ${JSON.stringify(required)} in the table`,
    );
  if (schema.additionalProperties !== false)
    drift.push(`${where}: package.json allows other properties; the parser refuses them`);
  for (const [name, field] of Object.entries(fields))
    if (Object.hasOwn(props, name)) drift.push(...fieldDrift(`${where}.${name}`, field, props[name]!));
  return drift;
}

const entrySchema = (): Schema => structuredClone(properties['mcpOAuth.servers'].items);
const idpSchema = (): Schema => structuredClone(properties['mcpOAuth.enterpriseIdp']);

describe('settings fields: package.json and the parser share one table', () => {
  it('an entry of mcpOAuth.servers', () => {
    assert.deepEqual(schemaDrift('servers[]', entrySchema(), ENTRY_FIELDS), []);
  });

  it('its auth object', () => {
    assert.deepEqual(schemaDrift('servers[].auth', entrySchema().properties!.auth!, AUTH_FIELDS), []);
  });

  it('mcpOAuth.enterpriseIdp, which only user settings can set', () => {
    const schema = idpSchema();
    assert.deepEqual(schemaDrift('enterpriseIdp', schema, ENTERPRISE_IDP_FIELDS), []);
    assert.equal(schema.scope, 'application', 'a workspace must not choose the identity provider');
    assert.deepEqual(schema.type, ['object', 'null']);
    assert.equal(schema.default, null, 'unset reads as null, never as an empty (invalid) object');
  });

  describe('the comparison catches drift', () => {
    const auth = (): Schema => entrySchema().properties!.auth!;
    const cases: [string, () => [Schema, Readonly<Record<string, SettingsField>>], RegExp][] = [
      [
        'a property the table does not have',
        () => {
          const s = auth();
          s.properties!.clientSecret = { type: 'string' };
          return [s, AUTH_FIELDS];
        },
        /clientSecret: in package.json, not in the table/,
      ],
      [
        'a field missing from package.json',
        () => {
          const s = auth();
          delete s.properties!.dpop;
          return [s, AUTH_FIELDS];
        },
        /dpop: in the table, missing from package.json/,
      ],
      [
        'an enum value missing',
        () => {
          const s = auth();
          s.properties!.flow!.enum = s.properties!.flow!.enum!.filter((v) => v !== 'workloadIdentity');
          return [s, AUTH_FIELDS];
        },
        /flow: the enum/,
      ],
      [
        'an enum without its descriptions',
        () => {
          const s = auth();
          (s.properties!.dpop!.markdownEnumDescriptions as string[]).pop();
          return [s, AUTH_FIELDS];
        },
        /dpop: the enum descriptions/,
      ],
      [
        'another description key',
        () => {
          const s = auth();
          s.properties!.resource!.markdownDescription = '%config.servers.auth.other%';
          return [s, AUTH_FIELDS];
        },
        /resource: the description/,
      ],
      [
        'another type',
        () => {
          const s = auth();
          s.properties!.loopbackPort!.type = 'string';
          return [s, AUTH_FIELDS];
        },
        /loopbackPort: the type/,
      ],
      [
        'another pattern',
        () => {
          const s = entrySchema();
          s.properties!.tokenEnv!.pattern = '^.*$';
          return [s, ENTRY_FIELDS];
        },
        /tokenEnv: the pattern/,
      ],
      [
        'a reserved parameter name the schema allows',
        () => {
          const s = auth();
          s.properties!.authorizationParams!.propertyNames!.not!.enum!.splice(2, 1);
          return [s, AUTH_FIELDS];
        },
        /authorizationParams: the refused names/,
      ],
      [
        'a required field the schema does not require',
        () => {
          const s = idpSchema();
          s.required = ['issuer'];
          return [s, ENTERPRISE_IDP_FIELDS];
        },
        /required/,
      ],
      [
        'other properties allowed',
        () => {
          const s = auth();
          delete s.additionalProperties;
          return [s, AUTH_FIELDS];
        },
        /allows other properties/,
      ],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => {
        const [schema, fields] = make();
        const drift = schemaDrift('x', schema, fields);
        assert.ok(
          drift.some((d) => message.test(d)),
          JSON.stringify(drift),
        );
      });
    }
  });

  describe('the parser reads by the same table', () => {
    const base = { name: 'A', url: 'https://mcp.example.com/mcp' };
    /** A value no field accepts: the wrong JSON type for every kind. */
    const wrong = (field: SettingsField): unknown => (field.kind === 'port' || field.kind === 'object' ? 'x' : 7);
    const refuses = (parse: () => unknown, name: string) => {
      assert.throws(parse, (error: unknown) => {
        assert.ok(error instanceof McpOAuthError && error.code === 'invalid_config', String(error));
        assert.ok(error.message.includes(`"${name}"`), `${error.message} names ${name}`);
        return true;
      });
    };
    for (const [key, field] of Object.entries(ENTRY_FIELDS) as [string, SettingsField][])
      it(`checks "${key}"`, () => refuses(() => parseEntry({ ...base, [key]: wrong(field) }), key));
    for (const [key, field] of Object.entries(AUTH_FIELDS) as [string, SettingsField][])
      it(`checks "auth.${key}"`, () =>
        refuses(() => parseEntry({ ...base, auth: { [key]: wrong(field) } }), `auth.${key}`));
    for (const [key, field] of Object.entries(ENTERPRISE_IDP_FIELDS) as [string, SettingsField][])
      it(`checks "mcpOAuth.enterpriseIdp.${key}"`, () => {
        const result = parseEnterpriseIdp({ issuer: 'https://idp.example.com', clientId: 'c', [key]: wrong(field) });
        assert.ok(!result.ok);
        assert.match(result.error.message, new RegExp(`"mcpOAuth\\.enterpriseIdp\\.${key}"`));
      });
  });
});
