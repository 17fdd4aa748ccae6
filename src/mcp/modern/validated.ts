import * as z from 'zod/v4';
import { safeParse, type AnySchema, type SchemaOutput } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import { InvalidResponseError, quote } from '../../oauth/errors';

/** `value` checked against `schema`, or `invalid_response` naming `what` and the first problem (never a value). */
export function validated<S extends AnySchema>(schema: S, value: unknown, what: string): SchemaOutput<S> {
  const parsed = safeParse(schema, value);
  if (parsed.success) return parsed.data;
  throw new InvalidResponseError('invalid_response', `${what} is malformed (${firstIssue(parsed.error)})`, {
    cause: parsed.error,
  });
}

const IssuesSchema = z.object({
  issues: z.array(z.object({ path: z.array(z.unknown()), message: z.string() })).min(1),
});

/** The first issue of a zod error, as `"path": message`; zod's messages name types, not the values seen. */
function firstIssue(error: unknown): string {
  const parsed = IssuesSchema.safeParse(error);
  if (!parsed.success) return 'not of the expected shape';
  const [first] = parsed.data.issues;
  return `${quote(first!.path.map(String).join('.') || '(the whole value)')}: ${first!.message}`;
}
