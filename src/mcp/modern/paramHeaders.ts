import { quote } from '../../oauth/errors';
import { headerValue } from './requestHeaders';

/** One tool parameter a server asked to see as `Mcp-Param-{name}`: where it sits in the arguments. */
export interface ParamHeader {
  readonly name: string;
  /** The chain of `properties` keys from the schema root to the parameter. */
  readonly path: readonly string[];
}

export type ParamHeaderScan =
  { readonly ok: true; readonly headers: readonly ParamHeader[] } | { readonly ok: false; readonly reason: string };

const ANNOTATION = 'x-mcp-header';
/** RFC 9110 §5.1 field-name token (which has no control characters). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MIRRORABLE = new Set(['string', 'integer', 'boolean']);
/** Keywords whose values are maps of name → subschema, not subschemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose values are instances, where an `x-mcp-header` key is data, not an annotation. */
const INSTANCE_VALUED = new Set(['const', 'enum', 'default', 'examples']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The `x-mcp-header` annotations of a tool's `inputSchema`, checked against the constraints of server/tools
 * §x-mcp-header: a non-empty token, unique ignoring case, on a string, integer or boolean property reached from
 * the root through `properties` only. One annotation anywhere else (under `items`, `anyOf`, `$ref`'d
 * definitions…) makes the whole tool invalid; the client then leaves it out of `tools/list`.
 */
export function scanParamHeaders(inputSchema: unknown): ParamHeaderScan {
  const headers: ParamHeader[] = [];
  const names = new Set<string>();
  let problem: string | undefined;
  const reach = (schema: Record<string, unknown>, path: readonly string[]): void => {
    if (!isObject(schema.properties)) return;
    for (const [key, property] of Object.entries(schema.properties)) {
      if (!isObject(property)) continue;
      const at = [...path, key];
      if (ANNOTATION in property) {
        const name = property[ANNOTATION];
        if (typeof name !== 'string' || !TOKEN.test(name)) {
          problem ??= `${ANNOTATION} ${quote(String(name))} on ${quote(at.join('.'))} is not a header name token`;
        } else if (names.has(name.toLowerCase())) {
          problem ??= `${ANNOTATION} ${quote(name)} is used twice`;
        } else if (typeof property.type !== 'string' || !MIRRORABLE.has(property.type)) {
          problem ??= `${ANNOTATION} ${quote(name)} is on ${quote(at.join('.'))}, which is not a string, integer or boolean`;
        } else {
          names.add(name.toLowerCase());
          headers.push({ name, path: at });
        }
      }
      reach(property, at);
    }
  };
  if (isObject(inputSchema)) reach(inputSchema, []);
  if (problem) return { ok: false, reason: problem };
  if (annotations(inputSchema) !== headers.length) {
    return { ok: false, reason: `an ${ANNOTATION} is on a property not reached through "properties" alone` };
  }
  return { ok: true, headers };
}

/** How many `x-mcp-header` annotations a schema holds anywhere. */
function annotations(schema: unknown): number {
  if (Array.isArray(schema)) return schema.reduce((sum: number, item) => sum + annotations(item), 0);
  if (!isObject(schema)) return 0;
  let count = ANNOTATION in schema ? 1 : 0;
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === ANNOTATION || INSTANCE_VALUED.has(keyword)) continue;
    if (SCHEMA_MAPS.has(keyword) && isObject(value)) {
      for (const sub of Object.values(value)) count += annotations(sub);
    } else {
      count += annotations(value);
    }
  }
  return count;
}

/**
 * The `Mcp-Param-*` headers of one call (streamable-http §Custom Headers from Tool Parameters): each
 * annotated parameter that has a value in `args`, converted (integers in decimal, booleans in lower case) and
 * encoded. An absent or `null` value means no header; so does a value of the wrong type, which the server
 * rejects as an invalid argument anyway.
 */
export function paramHeaderValues(headers: readonly ParamHeader[], args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of headers) {
    let value: unknown = args;
    for (const key of header.path) value = isObject(value) ? value[key] : undefined;
    let text: string | undefined;
    if (typeof value === 'string') text = headerValue(value);
    else if (typeof value === 'boolean') text = String(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) text = String(value);
    if (text !== undefined) out[`mcp-param-${header.name.toLowerCase()}`] = text;
  }
  return out;
}
