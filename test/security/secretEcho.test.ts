// Security property 8: no secret is ever echoed. Whatever an authorization server or an MCP server puts in an
// error_description, a body or a header, no secret the client holds (tokens, codes, verifiers, client
// secrets, assertions) reaches an error message, a log line, the JSON-RPC error the gateway sends to VS Code,
// or the CLI's output. A corpus of secret shapes, each echoed by a malicious authorization server on loopback
// in every form (raw, percent- and form-encoded, base64, base64url, JSON-escaped, as the error code, in a
// non-JSON body, in headers, in a 5xx), in answer to real requests through the core: the code exchange, a
// refresh and a registration; then by a malicious MCP server behind a real TokenGateway.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { stderrLogger } from '../../src/cli/cliEnvironment';
import { statePaths } from '../../src/cli/paths';
import { FileTokenStore } from '../../src/cli/store/fileTokenStore';
import type { ClientCredentials } from '../../src/oauth/client/clientAuth';
import { loadPrivateKey } from '../../src/oauth/client/privateKey';
import type { ClientRegistration, ClientStore } from '../../src/oauth/client/registration';
import { createError, McpOAuthError } from '../../src/oauth/errors';
import { holdSecrets } from '../../src/oauth/http/liveSecrets';
import type { Logger } from '../../src/oauth/http/logger';
import { canonicalServerUrl } from '../../src/oauth/http/url';
import { cryptoRandom } from '../../src/oauth/http/random';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import type { AuthEnvironment } from '../../src/oauth/session/environment';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { holdingSecrets } from '../../src/oauth/tokens/holdingSecrets';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import type { TokenStore } from '../../src/oauth/tokens/tokenStore';
import { TokenGateway } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource, type GatewayTokenSource } from '../../src/mcp/gateway/gatewayTokens';
import { ensureCliBuilt, runCli } from '../unit/support/cliRunner';
import { CraftedCallbacks } from '../unit/support/coreHarness';
import { rawRequest } from '../unit/support/gatewayHarness';
import { json, raw, startHostileServer, type Handler, type HostileServer } from '../unit/support/hostileServer';

// ---------------------------------------------------------------------------------------------------------
// The corpus: at least 40 shapes a secret can have.

/** A deterministic run of `length` characters from `alphabet` (no randomness: a failure must be repeatable). */
function run(alphabet: string, length: number, seed: number): string {
  let out = '';
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += alphabet[(x >>> 16) % alphabet.length];
  }
  return out;
}
const HEX = '0123456789abcdef';
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = `${B62}-_`;
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const b64url = (text: string): string => Buffer.from(text).toString('base64url');
const jwt = (header: object, payload: object, signature = run(B64URL, 43, 3)): string =>
  `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
const { privateKey: PEM_KEY } = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

const SHAPES: readonly (readonly [name: string, value: string])[] = [
  ['opaque hex, 40', run(HEX, 40, 1)],
  ['opaque hex, 64', run(HEX, 64, 2)],
  ['opaque upper-case hex, 32', run(HEX, 32, 3).toUpperCase()],
  ['opaque base62, 32', run(B62, 32, 4)],
  ['opaque base64url, 43 (a PKCE verifier)', run(B64URL, 43, 5)],
  ['opaque base64 with + / and =', `${run(B62, 18, 6)}+${run(B62, 10, 7)}/${run(B62, 12, 8)}=`],
  ['base64 with == padding', b64('static:secret-value-xyz')],
  ['digits only, 20', run('0123456789', 20, 9)],
  ['a UUID', 'b3e1c2d4-5f6a-4b7c-8d9e-0f1a2b3c4d5e'],
  ['exactly 8 characters', 'Zx8!q2#L'],
  ['lower-case letters only (no digit, no shape)', run('abcdefghijklmnopqrstuvwxyz', 28, 10)],
  ['long opaque, 2048', run(B64URL, 2048, 11)],
  ['Okta-style, with a dot', `00${run(B62, 18, 12)}.${run(B62, 20, 13)}`],
  ['Entra-style refresh token', `0.A${run(B64URL, 60, 14)}.${run(B64URL, 40, 15)}`],
  ['Google refresh token (1//)', `1//0g${run(B64URL, 60, 16)}`],
  ['Google access token (ya29.)', `ya29.a0${run(B64URL, 60, 17)}`],
  ['GitHub personal access token (ghp_)', `ghp_${run(B62, 36, 18)}`],
  ['GitHub OAuth token (gho_)', `gho_${run(B62, 36, 19)}`],
  ['GitHub fine-grained token (github_pat_)', `github_pat_11${run(B62, 20, 20)}_${run(B62, 59, 21)}`],
  ['Slack bot token (xoxb-)', `xoxb-${run('0123456789', 12, 22)}-${run('0123456789', 13, 23)}-${run(B62, 24, 24)}`],
  ['OpenAI key (sk-proj-)', `sk-proj-${run(B64URL, 48, 25)}`],
  ['Anthropic key (sk-ant-)', `sk-ant-api03-${run(B64URL, 60, 26)}`],
  ['Stripe secret key (sk_live_)', `sk_live_${run(B62, 24, 27)}`],
  ['GitLab token (glpat-)', `glpat-${run(B64URL, 20, 28)}`],
  ['AWS secret access key', `${run(B62, 12, 29)}/${run(B62, 14, 30)}/${run(B62, 12, 31)}`],
  ['JWT (HS256)', jwt({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', exp: 1900000000 })],
  [
    'JWT access token (RS256, RFC 9068)',
    jwt(
      { alg: 'RS256', typ: 'at+jwt', kid: 'k1' },
      { iss: 'https://as.example.com', sub: 'alice', aud: 'https://mcp.example.com/mcp', scope: 'mcp:read' },
      run(B64URL, 342, 32),
    ),
  ],
  ['unsecured JWT (alg none, no signature)', jwt({ alg: 'none' }, { sub: 'alice' }, '')],
  [
    'JWS whose header has a space (eyA…)',
    `${b64url('{ "alg": "ES256" }')}.${b64url('{"sub":"a"}')}.${run(B64URL, 86, 33)}`,
  ],
  [
    'JWE (five parts)',
    `${b64url('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.${run(B64URL, 342, 34)}.${run(B64URL, 16, 35)}.${run(B64URL, 40, 36)}.${run(B64URL, 22, 37)}`,
  ],
  [
    'DPoP proof',
    jwt(
      {
        typ: 'dpop+jwt',
        alg: 'ES256',
        jwk: { kty: 'EC', crv: 'P-256', x: run(B64URL, 43, 38), y: run(B64URL, 43, 39) },
      },
      { jti: run(B62, 16, 40), htm: 'POST', htu: 'https://as.example.com/token', iat: 1700000000 },
      run(B64URL, 86, 41),
    ),
  ],
  [
    'client assertion (private_key_jwt)',
    jwt(
      { alg: 'ES256', kid: 'client-key' },
      { iss: 'client-1', sub: 'client-1', aud: 'https://as.example.com/token', jti: run(B62, 20, 42), exp: 1700000300 },
      run(B64URL, 86, 43),
    ),
  ],
  ['SAML assertion, base64', b64(`<saml:Assertion ID="_${run(HEX, 20, 44)}"><saml:Subject>alice</saml:Subject>`)],
  ['Basic credentials (id:secret)', `client-7:${run(B62, 24, 45)}`],
  ['PEM private key', PEM_KEY.trim()],
  [
    'JWK private key (JSON)',
    JSON.stringify({ kty: 'EC', crv: 'P-256', x: run(B64URL, 43, 46), y: run(B64URL, 43, 47), d: run(B64URL, 43, 48) }),
  ],
  ['a passphrase with spaces', 'correct horse battery staple'],
  ['URL-structure characters (& = ? # /)', `a&b=c?d#e/f+g ${run(B62, 8, 49)}`],
  ['percent signs', `100%real%2Fnot%zz${run(B62, 8, 50)}`],
  ['quotes and backslashes', `q"u'o\\te"d\\\\${run(B62, 6, 51)}`],
  ['HTML', `<b>${run(B62, 10, 52)}</b>&amp;`],
  ['tilde, dot, dash, underscore', `~a.b-c_d~${run(B62, 10, 53)}`],
  ["$ * ! ( ) ' @ : ; , [ ] { } | ^ `", `$*!()'@:;,[]{}|^\`${run(B62, 6, 54)}`],
  ['accented Latin', `pässwörd-ünïcødé-ß-${run(B62, 6, 55)}`],
  ['CJK', '秘密の鍵シークレットトークン'],
  ['emoji (outside the BMP)', '🔑🗝️secret🔐token🔒'],
  ['right-to-left and combining marks', `סוד-سر-e\u0301-${run(B62, 6, 56)}`],
  ['control characters', `tab\there\nnew\rline\u0000${run(B62, 6, 57)}`],
];

// ---------------------------------------------------------------------------------------------------------
// What counts as a leak: any 16 characters in a row (all of a shorter secret) of any form it can be read in.

/** JSON with every non-ASCII character and `/` escaped, as some servers write it. */
const asciiJson = (text: string): string =>
  JSON.stringify(text)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
const formEncoded = (text: string): string => new URLSearchParams([['', text]]).toString().slice(1);

function leakForms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    formEncoded(secret),
    b64(secret),
    b64url(secret),
    JSON.stringify(secret).slice(1, -1),
    asciiJson(secret),
  ];
}

/** Fails when `text` holds 16 consecutive characters of any form of any of `secrets`. */
function assertNoLeak(where: string, text: string, secrets: readonly string[]): void {
  const gramsOf = new Map<number, Set<string>>();
  for (const secret of secrets) {
    for (const form of leakForms(secret)) {
      const width = Math.min(16, form.length);
      let grams = gramsOf.get(width);
      if (!grams) {
        grams = new Set<string>();
        for (let i = 0; i + width <= text.length; i++) grams.add(text.slice(i, i + width));
        gramsOf.set(width, grams);
      }
      for (let i = 0; i + width <= form.length; i++) {
        const piece = form.slice(i, i + width);
        if (grams.has(piece)) assert.fail(`${where} leaks ${JSON.stringify(piece)} of a secret: ${text}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The malicious authorization server: how it echoes a value it received or knows.

/** A header value that Node will send: the text itself when it is printable ASCII, else percent-encoded. */
const headerSafe = (text: string): string => (/^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text));
const quotedString = (text: string): string => `"${headerSafe(text).replace(/[\\"]/g, '\\$&')}"`;

interface Placement {
  readonly name: string;
  readonly answer: (secret: string) => Handler;
  /** Whether the message shows what was placed (redacted): proves the echo reached the message builder. */
  readonly shown: boolean;
}
const described = (name: string, encode: (secret: string) => string): Placement => ({
  name,
  shown: true,
  answer: (secret) => json(400, { error: 'invalid_request', error_description: `rejected ${encode(secret)} here` }),
});
const PLACEMENTS: readonly Placement[] = [
  described('in error_description', (s) => s),
  described('percent-encoded in error_description', encodeURIComponent),
  described('form-encoded in error_description', formEncoded),
  described('base64 in error_description', b64),
  described('base64url in error_description', b64url),
  described('JSON-escaped in error_description', asciiJson),
  { name: 'as the error code', shown: true, answer: (secret) => json(400, { error: secret }) },
  {
    name: 'in a non-JSON body',
    shown: false,
    answer: (secret) => raw(400, `<h1>Bad request</h1><p>${secret}</p>`, { 'content-type': 'text/html' }),
  },
  {
    name: 'in headers (WWW-Authenticate error and error_description, X-Echo)',
    shown: false,
    answer: (secret) =>
      json(
        401,
        { error: 'invalid_client' },
        {
          'www-authenticate': `Basic realm="as", error=${quotedString(secret)}, error_description=${quotedString(secret)}`,
          'x-echo': headerSafe(secret),
          'x-echo-base64': b64(secret),
        },
      ),
  },
  {
    name: 'in a 5xx body',
    shown: false,
    answer: (secret) => json(503, { error: 'temporarily_unavailable', error_description: secret }),
  },
];

/** Answers with `placement` of the value `pick` finds in the request (a code, a verifier, a client secret …). */
const echoing =
  (pick: (req: http.IncomingMessage, body: URLSearchParams) => string | undefined, placement: Placement): Handler =>
  (req, res, body) => {
    const secret = pick(req, new URLSearchParams(body));
    if (!secret) {
      json(500, { error: 'test_setup', error_description: 'nothing to echo' })(req, res, body);
      return;
    }
    placement.answer(secret)(req, res, body);
  };
const param =
  (name: string) =>
  (_req: http.IncomingMessage, body: URLSearchParams): string | undefined =>
    body.get(name) ?? undefined;
/** The secret inside `Authorization: Basic base64(id:secret)`, form-decoded (RFC 6749 §2.3.1). */
const basicSecret = (req: http.IncomingMessage): string | undefined => {
  const credentials = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!credentials) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  return decodeURIComponent(decoded.slice(decoded.indexOf(':') + 1).replace(/\+/g, ' '));
};
const basicCredentials = (req: http.IncomingMessage): string | undefined =>
  /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];

// ---------------------------------------------------------------------------------------------------------
// The core, as the extension and the CLI wire it: tokens in a store whose sets are live secrets.

class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  private add =
    (level: string) =>
    (message: string, ...args: unknown[]): void => {
      this.lines.push(`${level} ${message} ${args.map(String).join(' ')}`);
    };
  trace = this.add('trace');
  debug = this.add('debug');
  info = this.add('info');
  warn = this.add('warn');
  error = this.add('error');
}

class MemoryClientStore implements ClientStore {
  private readonly entries = new Map<string, ClientRegistration>();
  async get(issuer: string) {
    return this.entries.get(issuer);
  }
  async set(issuer: string, registration: ClientRegistration) {
    this.entries.set(issuer, registration);
  }
  async delete(issuer: string) {
    this.entries.delete(issuer);
  }
}

/** What the CLI's stderr logger (the same `safeLine` as the VS Code log channel) writes for `lines`. */
function sinkOutput(lines: readonly string[]): string {
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const logger = stderrLogger({});
    for (const line of lines) logger.warn(line);
  } finally {
    process.stderr.write = write;
  }
  return written.join('');
}

const REDIRECT_URI = 'http://127.0.0.1:1/callback';

describe('security property 8: no secret is ever echoed', function () {
  this.timeout(120_000);
  let as: HostileServer;
  let o: string;
  /** Every live-secret hold a test took (the stores' sets included): released after each test. */
  const releases: (() => void)[] = [];

  before(async () => {
    as = await startHostileServer();
    o = as.origin;
  });
  after(async () => {
    await as.close();
  });
  beforeEach(() => {
    as.reset();
    as.route(
      '/.well-known/oauth-authorization-server',
      json(200, {
        issuer: o,
        authorization_endpoint: `${o}/authorize`,
        token_endpoint: `${o}/token`,
        registration_endpoint: `${o}/register`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      }),
    );
  });
  afterEach(() => {
    while (releases.length) releases.pop()!();
  });

  it(`the corpus has at least 40 shapes, all distinct and long enough to be secrets`, () => {
    assert.ok(SHAPES.length >= 40, `${SHAPES.length} shapes`);
    assert.equal(new Set(SHAPES.map(([, value]) => value)).size, SHAPES.length);
    for (const [name, value] of SHAPES) assert.ok(value.length >= 8, name);
  });

  /**
   * A core for one server at the malicious AS, wired as the hosts wire it (its sets held as live secrets),
   * unless a plain `store` is given.
   */
  const core = (options: AuthOptions, credentials: ClientCredentials = {}, store?: TokenStore) => {
    const logger = new RecordingLogger();
    const tokens = store ?? holdingSecrets(new MemoryTokenStore());
    const env: AuthEnvironment = {
      http: { fetch: globalThis.fetch, timeoutMs: 5000, maxBodyBytes: 1024 * 1024, maxRedirects: 3 },
      now: Date.now,
      random: cryptoRandom,
      logger,
      tokens,
      clients: new MemoryClientStore(),
      credentials: { lookup: async () => credentials },
      refreshBeforeMs: 30_000,
    };
    const auth = new ServerAuth(env, `${o}/mcp`, { authorizationServer: o, ...options });
    // The store's holds end with the test: deleting the entry lets go of them.
    releases.push(() => void tokens.delete(auth.tokenKey));
    return { auth, logger, tokens };
  };

  /** A browser that comes back at once with `code` (and the right state). */
  const returningCode = (code: string) => new CraftedCallbacks((state) => ({ code, state }), REDIRECT_URI);

  /** Runs `attempt`, which must fail, and checks every text the failure produces for `secrets` (known after). */
  const attack = async (
    label: string,
    placement: Placement,
    secrets: () => readonly string[],
    logger: RecordingLogger,
    attempt: () => Promise<unknown>,
    more: () => [where: string, text: string][] = () => [],
  ): Promise<void> => {
    const before = as.requests.length;
    logger.lines.length = 0; // this attempt's lines only
    let caught: unknown;
    try {
      await attempt();
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof McpOAuthError, `${label}: expected an McpOAuthError, got ${String(caught)}`);
    assert.ok(as.requests.length > before, `${label}: the malicious server was asked`);
    if (placement.shown) assert.ok(caught.message.includes('[redacted'), `${label}: not echoed? ${caught.message}`);
    const error = caught as McpOAuthError & { error?: string };
    const host = sinkOutput([`[signIn] ${error.code}: ${error.message}`, ...logger.lines]);
    const texts: [string, string][] = [
      ['the error message', error.message],
      ['the OAuth error code', String(error.error ?? '')],
      ['the core log', logger.lines.join('\n')],
      ['the log sink', host],
      ...more(),
    ];
    for (const [where, text] of texts) assertNoLeak(`${label}: ${where}`, text, secrets());
  };

  describe('the malicious authorization server echoes what it received, and what it knows', () => {
    for (const [name, secret] of SHAPES) {
      it(`${name}: the code exchange, a refresh and a registration`, async () => {
        const clientSecret = `c1-${secret}`;
        const accessToken = `a1-${secret}`;

        // 1. The code exchange: the code, the PKCE verifier and the client secret (HTTP Basic), each echoed.
        {
          const { auth, logger } = core({ clientId: 'client-1' }, { clientSecret });
          const targets: [string, (req: http.IncomingMessage, body: URLSearchParams) => string | undefined][] = [
            ['the code', param('code')],
            ['the verifier', param('code_verifier')],
            ['the client secret', basicSecret],
            ['the Basic credentials', basicCredentials],
          ];
          for (const [target, pick] of targets) {
            for (const placement of PLACEMENTS) {
              let verifier = '';
              as.route('/token', (req, res, body) => {
                verifier = new URLSearchParams(body).get('code_verifier') ?? '';
                echoing(pick, placement)(req, res, body);
              });
              await attack(
                `code exchange, ${target} ${placement.name}`,
                placement,
                () => [secret, clientSecret, verifier],
                logger,
                () => auth.signIn(returningCode(secret)),
              );
            }
          }
        }

        // 2. A refresh (client_secret_post): the refresh token and the client secret it carried, and the
        //    access token it did not carry but the server issued.
        {
          const { auth, logger, tokens } = core(
            { clientId: 'client-1', tokenEndpointAuthMethod: 'client_secret_post' },
            { clientSecret },
          );
          await tokens.set(auth.tokenKey, expiredSet(accessToken, secret));
          const manager = auth.tokenManager();
          const targets: [string, (req: http.IncomingMessage, body: URLSearchParams) => string | undefined][] = [
            ['the refresh token', param('refresh_token')],
            ['the client secret', param('client_secret')],
            ['the access token', () => accessToken],
          ];
          for (const [target, pick] of targets) {
            for (const placement of PLACEMENTS) {
              as.route('/token', echoing(pick, placement));
              await attack(
                `refresh, ${target} ${placement.name}`,
                placement,
                () => [secret, clientSecret, accessToken],
                logger,
                () => manager.getTokens(),
                () => [['the token status', manager.status.error?.message ?? '']],
              );
            }
          }
        }

        // 3. A registration (the request carries no secret): the tokens of the session the client holds.
        {
          const { auth, logger, tokens } = core({});
          await tokens.set(auth.tokenKey, expiredSet(accessToken, secret));
          for (const [target, value] of [
            ['the refresh token', secret],
            ['the access token', accessToken],
          ] as const) {
            for (const placement of PLACEMENTS) {
              as.route(
                '/register',
                echoing(() => value, placement),
              );
              await attack(
                `registration, ${target} ${placement.name}`,
                placement,
                () => [secret, accessToken],
                logger,
                () => auth.signIn(returningCode('code-never-used')),
              );
            }
          }
        }
      });
    }

    it('the client assertion of a private_key_jwt client, in every placement', async () => {
      const privateKey = await loadPrivateKey(PEM_KEY);
      const { auth, logger } = core(
        { clientId: 'client-1', tokenEndpointAuthMethod: 'private_key_jwt' },
        { privateKey },
      );
      for (const placement of PLACEMENTS) {
        let assertion = '';
        as.route('/token', (req, res, body) => {
          assertion = new URLSearchParams(body).get('client_assertion') ?? '';
          echoing(param('client_assertion'), placement)(req, res, body);
        });
        await attack(
          `the client assertion ${placement.name}`,
          placement,
          () => [assertion, assertion.split('.')[2]!],
          logger,
          () => auth.signIn(returningCode('code-for-the-assertion')),
        );
        assert.ok(assertion.startsWith('eyJ'), 'a real assertion was sent');
      }
    });

    it('a redirect of the token request to a host named after the code', async () => {
      const code = run(HEX, 40, 60);
      const { auth, logger } = core({ clientId: 'client-1' }, { clientSecret: 'client-secret-0001' });
      as.route('/token', raw(307, '', { location: `http://${code}.example.com/steal` }));
      const placement: Placement = { name: 'in the Location host', shown: true, answer: () => raw(500, '') };
      await attack(
        'a cross-origin redirect',
        placement,
        () => [code],
        logger,
        () => auth.signIn(returningCode(code)),
      );
    });
  });

  describe('the log sinks, for lines a careless caller built', () => {
    for (const [name, secret] of SHAPES) {
      it(`${name}: by its name when the process does not hold it, and as a live secret in prose`, () => {
        const named = [
          JSON.stringify({ refreshToken: secret, scope: 'mcp:read' }),
          JSON.stringify({ 'client-secret': secret }),
          `grant_type=refresh_token&refresh_token=${encodeURIComponent(secret)}&client_id=c`,
          `sent aUtHoRiZaTiOn: bEaReR ${headerSafe(secret)}`, // as a header can carry it
          `GET https://user:${encodeURIComponent(secret)}@as.example.com/token`,
        ];
        assertNoLeak('the sink, by name', sinkOutput(named), [secret]);
        const prose = [`the server said ${secret} was wrong`, `base64: ${b64(secret)}; JSON: ${asciiJson(secret)}`];
        assert.throws(() => assertNoLeak('unheld', sinkOutput(prose), [secret]), 'prose alone has no shape');
        releases.push(holdSecrets([secret]));
        assertNoLeak('the sink, live', sinkOutput(prose), [secret]);
      });
    }
  });

  describe('the malicious MCP server behind a real TokenGateway echoes the bearer token', () => {
    let gateway: TokenGateway;
    let mcp: HostileServer;
    let gatewayLog: RecordingLogger;
    const hint = (id: string): string => `run "MCP OAuth: Sign In…" and pick ${id}`;
    before(async () => {
      gatewayLog = new RecordingLogger();
      gateway = await TokenGateway.start({ logger: gatewayLog, signInHint: hint });
      mcp = await startHostileServer();
    });
    after(async () => {
      await gateway.close();
      await mcp.close();
    });

    /** Every form in one body: the gateway relays bodies whole, so one answer carries all of them. */
    const echoBody = (token: string): string =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        error: { code: -32000, message: `bad token ${token}`, data: leakForms(token).join(' | ') },
      });
    const echoHeaders = (token: string): Record<string, string> => ({
      'content-type': 'application/json',
      'x-echo': token,
      'x-echo-base64': b64(token),
    });
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'vscode', version: '1' } },
    });

    /** A POST through the gateway as VS Code sends it; what came back, body and header values. */
    const post = async (id: string, source: GatewayTokenSource) => {
      const registration = gateway.register({ id, upstreamUrl: `${mcp.origin}/mcp`, tokens: source });
      try {
        const response = await rawRequest(gateway.port, {
          method: 'POST',
          path: new URL(registration.url).pathname,
          headers: {
            host: `127.0.0.1:${gateway.port}`,
            ...gateway.requestHeaders,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'accept-encoding': 'gzip',
          },
          body: initialize,
        });
        return { ...response, all: `${response.text}\n${JSON.stringify(response.headers)}` };
      } finally {
        registration.dispose();
      }
    };
    const fixed = (token: string): GatewayTokenSource => ({
      getAccessToken: async () => token,
      refresh: async () => token,
    });
    /** A header-safe bearer token: printable ASCII without spaces (RFC 6750 b64token and beyond). */
    const bearerShapes = SHAPES.filter(([, value]) => /^[\x21-\x7e]+$/.test(value));

    it('the corpus gives the gateway at least 30 bearer tokens', () => {
      assert.ok(bearerShapes.length >= 30, `${bearerShapes.length}`);
    });

    for (const [name, token] of bearerShapes) {
      it(`${name}: in 403 challenges, 4xx and 5xx bodies and headers (also gzip), and a refresh's error`, async () => {
        const scenarios: [string, Handler, (text: string) => void][] = [
          [
            '403 with the token as the challenge error and description',
            raw(403, echoBody(token), {
              ...echoHeaders(token),
              'www-authenticate': `Bearer error=${quotedString(token)}, error_description=${quotedString(token)}`,
            }),
            (text) => assert.match(text, /refused the request \(HTTP 403, \\"\[redacted/),
          ],
          [
            '403 insufficient_scope with the token as a scope',
            raw(403, echoBody(token), {
              'www-authenticate': `Bearer error="insufficient_scope", scope=${quotedString(`mcp:read ${token}`)}`,
            }),
            (text) => assert.match(text, /needs more permission/),
          ],
          ['500 echoing it', raw(500, echoBody(token), echoHeaders(token)), (text) => assert.match(text, /redacted/)],
          [
            '502 echoing it, gzip-encoded',
            (_req, res) => {
              res.writeHead(502, { ...echoHeaders(token), 'content-encoding': 'gzip' });
              res.end(gzipSync(echoBody(token)));
            },
            (text) => assert.match(text, /bad token \[redacted\]/),
          ],
          [
            '404 with a JSON-RPC error echoing it',
            raw(404, echoBody(token), echoHeaders(token)),
            (text) => assert.match(text, /redacted/),
          ],
        ];
        for (const [scenario, handler, check] of scenarios) {
          mcp.route('/mcp', handler);
          gatewayLog.lines.length = 0;
          const response = await post('echo', fixed(token));
          check(response.text);
          assertNoLeak(`${scenario}: what VS Code got`, response.all, [token]);
          assertNoLeak(`${scenario}: the gateway log`, sinkOutput(gatewayLog.lines), [token]);
        }

        // A 401, then a token source whose errors repeat the rejected token (a careless source: the gateway
        // takes any), as a failed renewal and as a needed sign-in.
        mcp.route('/mcp', raw(401, echoBody(token), { 'www-authenticate': 'Bearer error="invalid_token"' }));
        for (const code of ['refresh_failed', 'not_signed_in'] as const) {
          gatewayLog.lines.length = 0;
          const careless: GatewayTokenSource = {
            getAccessToken: async () => token,
            refresh: async (rejected) => {
              throw createError(code, `could not renew ${rejected} (${b64(rejected)})`);
            },
          };
          const response = await post('careless', careless);
          assert.match(response.text, code === 'refresh_failed' ? /Could not get an access token/ : /Sign-in required/);
          assertNoLeak(`a careless source (${code}): what VS Code got`, response.all, [token]);
          assertNoLeak(`a careless source (${code}): the gateway log`, sinkOutput(gatewayLog.lines), [token]);
        }

        // A 403 asking for the token as a scope, and a step-up whose failure repeats it.
        mcp.route(
          '/mcp',
          raw(403, echoBody(token), {
            'www-authenticate': `Bearer error="insufficient_scope", scope=${quotedString(`mcp:read ${token}`)}`,
          }),
        );
        gatewayLog.lines.length = 0;
        const stepUpFails: GatewayTokenSource = {
          ...fixed(token),
          stepUp: async () => {
            throw createError('authorization_failed', `step-up with ${token} failed`);
          },
        };
        const refused = await post('careless-step-up', stepUpFails);
        assert.match(refused.text, /needs more permission/);
        assert.ok(gatewayLog.lines.some((line) => line.includes('step-up failed')));
        assertNoLeak('a failed step-up: what VS Code got', refused.all, [token]);
        assertNoLeak('a failed step-up: the gateway log', sinkOutput(gatewayLog.lines), [token]);

        // A 401 echoing it, then a refresh the authorization server refuses, echoing the access token (which
        // the refresh request did not carry) in each form: the real token manager, over a plain store.
        mcp.route(
          '/mcp',
          raw(401, echoBody(token), { 'www-authenticate': `Bearer error_description=${quotedString(token)}` }),
        );
        for (const placement of PLACEMENTS.filter((p) => p.shown)) {
          const plain = new MemoryTokenStore();
          const { auth, logger } = core({ clientId: 'client-1' }, {}, plain);
          await plain.set(auth.tokenKey, { ...expiredSet(token, `rt-${token}`), expiresAt: Date.now() + 3_600_000 });
          as.route(
            '/token',
            echoing(() => token, placement),
          );
          gatewayLog.lines.length = 0;
          const response = await post('refresh-echo', tokenManagerSource(auth.tokenManager()));
          assert.match(response.text, /Could not get an access token/);
          assertNoLeak(`401, then the refresh error ${placement.name}: what VS Code got`, response.all, [token]);
          assertNoLeak(
            `401, then the refresh error ${placement.name}: the logs`,
            sinkOutput([...gatewayLog.lines, ...logger.lines]),
            [token],
          );
          assertNoLeak('the token status', auth.tokenManager().status.error?.message ?? '', [token]);
        }
      });
    }

    it('an error answer the gateway cannot check (over 64 KB, or in an unknown coding) becomes a 502', async () => {
      const token = run(B62, 40, 62);
      for (const [name, handler] of [
        ['over 64 KB', raw(500, `${'x'.repeat(70 * 1024)} ${token}`, { 'content-type': 'text/plain' })],
        [
          'compress-encoded',
          raw(500, `bad token ${token}`, { 'content-type': 'text/plain', 'content-encoding': 'compress' }),
        ],
      ] as const) {
        mcp.route('/mcp', handler);
        const response = await post('unchecked', fixed(token));
        assert.equal(response.status, 502, name);
        assert.match(response.text, /a body the gateway cannot check/, name);
        assertNoLeak(name, response.all, [token]);
      }
    });

    it('a redirect to another origin named after the token', async () => {
      const token = run(HEX, 40, 61);
      mcp.route('/mcp', raw(307, '', { location: `http://${token}.example.com/steal` }));
      const response = await post('redirect-echo', fixed(token));
      assert.equal(response.status, 502);
      assertNoLeak('the 502', response.all, [token]);
      assertNoLeak('the gateway log', sinkOutput(gatewayLog.lines), [token]);
    });
  });

  describe('the CLI', () => {
    let home: string;
    before(async function () {
      this.timeout(180_000);
      ensureCliBuilt();
      home = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-echo-'));
    });
    after(async () => {
      if (home) await rm(home, { recursive: true, force: true });
    });

    it('`mcp-oauth token` whose refresh the server refuses, echoing both tokens: not on stdout or stderr', async () => {
      const accessToken = run(B62, 32, 70);
      const refreshToken = run(B62, 32, 71);
      const tokensFile = statePaths({ env: { MCP_OAUTH_HOME: home } }).tokensFile;
      await new FileTokenStore(tokensFile).set(canonicalServerUrl(`${o}/mcp`), expiredSet(accessToken, refreshToken));
      const echo = [accessToken, refreshToken].flatMap((t) => [t, b64(t), encodeURIComponent(t)]).join(' ');
      as.route('/token', json(400, { error: 'invalid_request', error_description: `got ${echo}` }));
      const result = await runCli(['token', `${o}/mcp`], { MCP_OAUTH_HOME: home, MCP_OAUTH_DEBUG: '1' });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /mcp-oauth: The token refresh failed with "invalid_request".*\[redacted/);
      assertNoLeak('the CLI output', `${result.stdout}\n${result.stderr}`, [accessToken, refreshToken]);
    });

    it('`mcp-oauth tools` at an MCP server that echoes the bearer token in its 500: not on stderr', async () => {
      const accessToken = run(B62, 32, 72);
      const tokensFile = statePaths({ env: { MCP_OAUTH_HOME: home } }).tokensFile;
      const valid = { ...expiredSet(accessToken, run(B62, 32, 73)), expiresAt: Date.now() + 3_600_000 };
      await new FileTokenStore(tokensFile).set(canonicalServerUrl(`${o}/mcp`), valid);
      // A server of an older revision (it does not know server/discover), whose next answer echoes the token.
      const echo = raw(500, `internal error for ${accessToken} (${b64(accessToken)})`, {
        'content-type': 'text/plain',
      });
      as.route('/mcp', (req, res, body) => {
        if (body.includes('"server/discover"')) {
          json(400, {
            jsonrpc: '2.0',
            id: null,
            error: { code: -32000, message: 'Bad Request: Server not initialized' },
          })(req, res, body);
        } else echo(req, res, body);
      });
      const result = await runCli(['tools', `${o}/mcp`], { MCP_OAUTH_HOME: home, MCP_OAUTH_DEBUG: '1' });
      assert.equal(result.code, 1, result.stderr);
      assert.ok(
        as.requests.some((r) => r.path === '/mcp'),
        'the MCP server was asked',
      );
      assert.match(result.stderr, /\[redacted/);
      assertNoLeak('the CLI output', `${result.stdout}\n${result.stderr}`, [accessToken]);
    });
  });

  /** An expired token set at the malicious server, so that the next use refreshes it. */
  function expiredSet(accessToken: string, refreshToken: string): TokenSet {
    return {
      accessToken,
      tokenType: 'Bearer',
      refreshToken,
      expiresAt: Date.now() - 60_000,
      scopes: ['mcp:read'],
      issuer: o,
      clientId: 'client-1',
      tokenEndpoint: `${o}/token`,
      resource: `${o}/mcp`,
      obtainedAt: Date.now() - 3_600_000,
    };
  }
});
