import { InvalidResponseError, McpOAuthError, quote, rewrap, type CodeOf } from '../errors';
import { secureUrl } from './url';

/**
 * A URL a server sent (an endpoint, a verification page, an issuer): absolute, https or loopback http, no
 * fragment. A failure is `insecure_url`, or `code` for any other problem, with the cause kept.
 */
export function receivedUrl(value: unknown, field: string, code: CodeOf<'InvalidResponseError'>): URL {
  try {
    return secureUrl(value, field);
  } catch (error) {
    if (error instanceof McpOAuthError && error.code === 'insecure_url') throw error;
    throw rewrap(error, code, `${field} is not a valid URL`);
  }
}

/**
 * Strict readers for a JSON object received from a server. Every read checks the type, and a failure
 * throws `InvalidResponseError` with a message naming the document and the field, for example
 * `authorization server metadata "token_endpoint" must be a string`. Values are never echoed unquoted.
 */
export class Fields {
  constructor(
    private readonly object: Record<string, unknown>,
    private readonly what: string,
    private readonly code: CodeOf<'InvalidResponseError'> = 'invalid_metadata',
  ) {}

  fail(field: string, problem: string): never {
    throw new InvalidResponseError(this.code, `${this.what} "${field}" ${problem}`);
  }

  has(field: string): boolean {
    return this.object[field] !== undefined && this.object[field] !== null;
  }

  string(field: string): string {
    const value = this.object[field];
    if (typeof value !== 'string') this.fail(field, value === undefined ? 'is missing' : 'must be a string');
    if (value.length === 0) this.fail(field, 'must not be empty');
    return value;
  }

  optionalString(field: string): string | undefined {
    return this.has(field) ? this.string(field) : undefined;
  }

  /** An endpoint: absolute, https or loopback http, no fragment. */
  url(field: string): string {
    return receivedUrl(this.string(field), `${this.what} "${field}"`, this.code).href;
  }

  optionalUrl(field: string): string | undefined {
    return this.has(field) ? this.url(field) : undefined;
  }

  stringArray(field: string): string[] {
    const value = this.object[field];
    if (!Array.isArray(value)) this.fail(field, value === undefined ? 'is missing' : 'must be an array of strings');
    if (!value.every((item): item is string => typeof item === 'string'))
      this.fail(field, 'must be an array of strings');
    return value;
  }

  optionalStringArray(field: string): string[] | undefined {
    return this.has(field) ? this.stringArray(field) : undefined;
  }

  optionalBoolean(field: string): boolean | undefined {
    if (!this.has(field)) return undefined;
    const value = this.object[field];
    if (typeof value !== 'boolean') this.fail(field, 'must be a boolean');
    return value;
  }

  optionalNumber(field: string, options: { min?: number } = {}): number | undefined {
    if (!this.has(field)) return undefined;
    const value = this.object[field];
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, 'must be a number');
    if (options.min !== undefined && value < options.min)
      this.fail(field, `must be at least ${options.min}, got ${quote(value)}`);
    return value;
  }
}
