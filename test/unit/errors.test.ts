import assert from 'node:assert/strict';
import * as vm from 'node:vm';
import { buildSync } from 'esbuild';
import type * as Errors from '../../src/oauth/errors';
import {
  CancelledError,
  createError,
  ERROR_CLASSES,
  HttpRequestError,
  InvalidResponseError,
  isCancellation,
  McpOAuthError,
  OAuthResponseError,
  rewrap,
  type ErrorCode,
} from '../../src/oauth/errors';

/** The extension and its lazily loaded core bundle the error classes twice; instanceof must still hold. */
describe('typed errors across bundles', () => {
  const copy = (): typeof Errors => {
    const { outputFiles } = buildSync({
      entryPoints: ['src/oauth/errors.ts'],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      write: false,
      minify: true,
    });
    const module = { exports: {} as Record<string, unknown> };
    vm.runInThisContext(`(function (module, exports) {${outputFiles[0]!.text}\n})`)(module, module.exports);
    return module.exports as unknown as typeof Errors;
  };

  it('recognises an error from another (minified) copy of the classes, by kind', () => {
    const other = copy();
    const cancelled = new other.CancelledError();
    const http = new other.HttpRequestError('timeout', 'slow');
    const oauth = new other.OAuthResponseError('token_error', 'no', 'invalid_grant', 400);
    assert.ok(cancelled instanceof McpOAuthError && cancelled instanceof CancelledError);
    assert.ok(!(cancelled instanceof HttpRequestError));
    assert.ok(
      http instanceof HttpRequestError && http instanceof McpOAuthError && !(http instanceof OAuthResponseError),
    );
    assert.ok(oauth instanceof OAuthResponseError);
    assert.equal(oauth.error, 'invalid_grant');
  });

  it('does not take look-alikes for ours', () => {
    const fake = Object.assign(new Error('x'), { name: 'CancelledError', code: 'cancelled' });
    assert.ok(!(fake instanceof McpOAuthError));
    assert.ok(!(fake instanceof CancelledError));
    assert.ok(!((null as unknown as object) instanceof McpOAuthError));
  });
});

describe('the error taxonomy: the class follows from the code', () => {
  const classes = { McpOAuthError, HttpRequestError, InvalidResponseError, OAuthResponseError, CancelledError };

  for (const [code, kind] of Object.entries(ERROR_CLASSES) as [ErrorCode, keyof typeof classes][]) {
    it(`${code} is a ${kind}`, () => {
      const error = createError(code, 'a message', { cause: 'the cause', error: 'invalid_grant', status: 400 });
      assert.equal(error.code, code);
      assert.equal(error.name, kind);
      assert.ok(error instanceof classes[kind]);
      for (const [other, cls] of Object.entries(classes)) {
        if (other !== kind && other !== 'McpOAuthError') assert.ok(!(error instanceof cls), `not also a ${other}`);
      }
      if (kind === 'OAuthResponseError') assert.equal((error as OAuthResponseError).error, 'invalid_grant');
      if (kind !== 'CancelledError') assert.equal(error.cause, 'the cause');
    });
  }

  it('rewrap keeps the cause, keeps our message, and leaves an error of the same code or a cancellation alone', () => {
    const original = new HttpRequestError('timeout', 'the AS did not answer');
    const wrapped = rewrap(original, 'refresh_failed', 'unused');
    assert.ok(wrapped instanceof OAuthResponseError);
    assert.equal(wrapped.message, 'the AS did not answer');
    assert.equal(wrapped.cause, original);
    const foreign = new TypeError('boom');
    const fromForeign = rewrap(foreign, 'storage_error', 'The store failed');
    assert.equal(fromForeign.message, 'The store failed');
    assert.equal(fromForeign.cause, foreign);
    assert.equal(rewrap(original, 'timeout', 'unused'), original);
    const cancelled = new CancelledError();
    assert.equal(rewrap(cancelled, 'token_error', 'unused'), cancelled);
  });

  it('treats an AbortError as a cancellation, and nothing else', () => {
    assert.ok(isCancellation(new CancelledError()));
    assert.ok(isCancellation(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    assert.ok(!isCancellation(new HttpRequestError('timeout', 'slow')));
    assert.ok(!isCancellation('cancelled'));
  });
});
