import { isAbsolute, join, resolve } from 'node:path';
import { quote } from '../errors';
import { isLoopbackHost } from '../http/url';
import {
  RESERVED_AUTHORIZATION_PARAMS,
  type DpopPolicy,
  type Flow,
  type RedirectChoice,
  type TokenEndpointAuthMethod,
} from './authOptions';

/**
 * The rules an `auth` option follows wherever it comes from: the settings (src/vscode/model/serverConfig.ts),
 * the command line (src/cli/args.ts) and the core itself as a second line of defence, so that a setting and
 * its flag mean the same thing. A rule returns why a value is refused, as a clause its caller puts after the
 * name of its own field (`"auth.resource" …`, `--resource …`), or undefined when the value is fine. A clause
 * never repeats the value it judges: settings come from a repository, and values may hold anything.
 */

/** Every value of each option's type, in the order the settings reference lists them (checked by the compiler). */
const FLOW_VALUES = {
  auto: true,
  authorizationCode: true,
  deviceCode: true,
  clientCredentials: true,
  enterpriseManaged: true,
  workloadIdentity: true,
  none: true,
} as const satisfies Record<Flow, true>;
const TOKEN_ENDPOINT_AUTH_METHOD_VALUES = {
  none: true,
  client_secret_basic: true,
  client_secret_post: true,
  private_key_jwt: true,
} as const satisfies Record<TokenEndpointAuthMethod, true>;
const REDIRECT_VALUES = { auto: true, uriHandler: true, loopback: true } as const satisfies Record<
  RedirectChoice,
  true
>;
const DPOP_VALUES = { auto: true, required: true, off: true } as const satisfies Record<DpopPolicy, true>;

export const FLOWS = Object.keys(FLOW_VALUES) as readonly Flow[];
export const TOKEN_ENDPOINT_AUTH_METHODS = Object.keys(
  TOKEN_ENDPOINT_AUTH_METHOD_VALUES,
) as readonly TokenEndpointAuthMethod[];
export const REDIRECT_CHOICES = Object.keys(REDIRECT_VALUES) as readonly RedirectChoice[];
export const DPOP_POLICIES = Object.keys(DPOP_VALUES) as readonly DpopPolicy[];

/** RFC 6749 §3.3: a scope token is one or more visible ASCII characters other than `"` and `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** RFC 6749 Appendix A: a parameter name is letters, digits, `-`, `.` and `_` (bounded here). */
export const PARAMETER_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Parameters that make the authorization server read the whole request from elsewhere (RFC 9101 `request` and
 * `request_uri`, which RFC 9126 pushed requests use too): through them a setting would replace the parameters
 * the sign-in sets, so they are refused like the reserved names.
 */
export const REPLACING_AUTHORIZATION_PARAMS: readonly string[] = ['request', 'request_uri'];

/** Names of parameters that carry a secret (`client_secret`, `client_assertion`, `code_verifier`, `password` …). */
const SECRET_PARAMETER = /secret|password|assertion|verifier|token/i;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether `text` holds a C0 or C1 control character or DEL. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}

/**
 * Why one `authorizationParams` entry is refused: a name that is not a parameter name, one the sign-in sets
 * itself ({@link RESERVED_AUTHORIZATION_PARAMS}, in any letter case, since some servers fold it), one that
 * replaces them ({@link REPLACING_AUTHORIZATION_PARAMS}), one that carries a secret, a value that is not a
 * string, or one with a control character. Names are only repeated once they are known to be plain parameter
 * names.
 */
export function authorizationParamProblem(name: string, value: unknown): string | undefined {
  if (!PARAMETER_NAME.test(name)) return 'has a name that is not a parameter name (letters, digits, "-", "." and "_")';
  const lower = name.toLowerCase();
  const reserved = RESERVED_AUTHORIZATION_PARAMS.find((r) => r === lower);
  if (reserved !== undefined) return `cannot set "${reserved}": the sign-in sets it itself`;
  const replacing = REPLACING_AUTHORIZATION_PARAMS.find((r) => r === lower);
  if (replacing !== undefined) return `cannot set "${replacing}": it would replace the parameters the sign-in sets`;
  if (SECRET_PARAMETER.test(name))
    return `cannot set "${name}": secrets never go in settings or on a command line, and never in a URL`;
  if (typeof value !== 'string') return `gives "${name}" a value that is not a string`;
  if (hasControlCharacter(value)) return `gives "${name}" a value with a control character`;
  return undefined;
}

/**
 * Why an RFC 8707 `resource` override is refused for the MCP server at `serverUrl`: it must be a URL on the
 * server's own origin (a path of it, or its root). A token is only ever sent to the server's origin, so a
 * resource elsewhere would have the authorization server issue a token for another API, and hand it to this
 * server: from a hostile repository's settings, to a server that replays it there.
 */
export function resourceProblem(resource: string, serverUrl: string): string | undefined {
  const url = URL.canParse(resource) ? new URL(resource) : undefined;
  if (!url || url.hash) return 'must be an absolute URL without a fragment';
  if (url.username || url.password) return 'must not contain credentials';
  const origin = new URL(serverUrl).origin;
  if (url.origin !== origin)
    return `must be a URL on the server's own origin ${quote(origin)} (a token goes only to the server it was issued for)`;
  return undefined;
}

/**
 * Why an enterprise identity provider's issuer is refused: an https URL (plain http only on loopback), with
 * no query or fragment (RFC 8414 §2) and no credentials.
 */
export function issuerProblem(issuer: string): string | undefined {
  const url = URL.canParse(issuer) ? new URL(issuer) : undefined;
  if (!url) return 'must be an absolute URL';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    return 'must use https (plain http is allowed only on loopback)';
  if (url.search || url.hash) return 'must not have a query or a fragment';
  if (url.username || url.password) return 'must not contain credentials';
  return undefined;
}

/** Options that mean something with one flow only: elsewhere they are refused, never silently ignored. */
const ONLY_WITH_FLOW = {
  workloadTokenFile: 'workloadIdentity',
  enterpriseIdp: 'enterpriseManaged',
} as const satisfies Record<string, Flow>;

/** Why `option` is refused with `flow` (`auto` when none is given), or undefined where it applies. */
export function flowOnlyProblem(option: keyof typeof ONLY_WITH_FLOW, flow: Flow | undefined): string | undefined {
  const only = ONLY_WITH_FLOW[option];
  return (flow ?? 'auto') === only ? undefined : `applies only to the ${only} flow`;
}

/**
 * The file a `workloadTokenFile` names, as an absolute path: `~/…` is under `home`; an absolute path stays as
 * it is; a relative one is resolved against `cwd` where there is one (the command line) and refused where
 * there is none (the settings, whose process has no meaningful working directory).
 */
export function workloadTokenFilePath(
  text: string,
  base: { readonly home: string; readonly cwd?: string },
): { readonly path: string } | { readonly problem: string } {
  if (hasControlCharacter(text)) return { problem: 'holds a control character' };
  if (text.startsWith('~/') && text.length > 2) return { path: join(base.home, text.slice(2)) };
  if (text.startsWith('~')) return { problem: 'may start with "~/" for a file in your home directory, not "~user"' };
  if (isAbsolute(text)) return { path: text };
  if (base.cwd !== undefined) return { path: resolve(base.cwd, text) };
  return { problem: 'must be an absolute path, or start with "~/" for your home directory' };
}
