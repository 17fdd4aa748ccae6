import assert from 'node:assert/strict';
import * as vm from 'node:vm';
import { buildSync } from 'esbuild';
import type * as Errors from '../../src/oauth/errors';
import { CancelledError, HttpRequestError, McpOAuthError, OAuthResponseError } from '../../src/oauth/errors';

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
