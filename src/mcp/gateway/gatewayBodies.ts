import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { CancelledError, McpOAuthError } from '../../oauth/errors';

/** Largest error answer (4xx, 5xx) the gateway reads, to clear it of the token, before it passes it on. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Reads a request body of at most `max` bytes, so it can be sent again on a retry. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = () =>
    new McpOAuthError(
      'request_too_large',
      `Payload too large: the MCP OAuth gateway takes request bodies of up to ${Math.round(max / 1024)} KB.`,
    );
  if (Number(req.headers['content-length']) > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
    // 'close' also fires after every complete request: only an incomplete one is a cancellation (and only
    // then is an error, with its stack, worth building).
    req.once('close', () => {
      if (!req.complete) reject(new CancelledError('The client closed the request'));
    });
  });
}

/** An upstream answer's body, or `undefined` (and the answer cut) once it grows past `max` bytes. */
export function readAnswer(upstream: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    upstream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        upstream.destroy();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    upstream.once('end', () => resolve(Buffer.concat(chunks, size)));
    upstream.once('error', reject);
    upstream.once('close', () => {
      if (!upstream.complete) reject(new Error('the upstream answer was cut'));
    });
  });
}

/** `body` without its content coding, or `undefined` for one the gateway cannot undo within the limit. */
export function decoded(body: Buffer, coding: string | undefined): Buffer | undefined {
  const options = { maxOutputLength: MAX_ERROR_BODY_BYTES };
  try {
    switch ((coding ?? 'identity').trim().toLowerCase()) {
      case 'identity':
      case '':
        return body;
      case 'gzip':
      case 'x-gzip':
        return zlib.gunzipSync(body, options);
      case 'deflate':
        return zlib.inflateSync(body, options);
      case 'br':
        return zlib.brotliDecompressSync(body, options);
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}
