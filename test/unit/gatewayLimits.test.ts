// The gateway's connection limits and timeouts: overrides over the defaults, and nonsense refused.
import assert from 'node:assert/strict';
import { DEFAULT_GATEWAY_LIMITS, gatewayLimits } from '../../src/mcp/gateway/gatewayLimits';
import { McpOAuthError } from '../../src/oauth/errors';

describe('gateway limits', () => {
  it('applies overrides over the defaults', () => {
    assert.deepEqual(gatewayLimits(), DEFAULT_GATEWAY_LIMITS);
    assert.deepEqual(gatewayLimits({ headersTimeoutMs: 500 }), { ...DEFAULT_GATEWAY_LIMITS, headersTimeoutMs: 500 });
  });

  const refused: [string, Parameters<typeof gatewayLimits>[0], RegExp][] = [
    ['zero', { maxConnections: 0 }, /maxConnections must be a positive integer/],
    ['a fraction', { headersTimeoutMs: 0.5 }, /headersTimeoutMs must be a positive integer/],
    ['not a number', { warningWindowMs: Number.NaN }, /warningWindowMs must be a positive integer/],
    ['more unproven than in all', { maxConnections: 8, maxUnproven: 9 }, /maxUnproven must not exceed/],
    ['headers longer than the request', { requestTimeoutMs: 5_000 }, /headersTimeoutMs must not exceed/],
  ];
  for (const [what, overrides, message] of refused) {
    it(`refuses ${what} (invalid_config)`, () => {
      assert.throws(
        () => gatewayLimits(overrides),
        (error: unknown) =>
          error instanceof McpOAuthError && error.code === 'invalid_config' && message.test(error.message),
      );
    });
  }
});
