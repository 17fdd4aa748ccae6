import { ADDRESS_CLASSES, classifyAddress, type AddressClass } from './addressClass';
import { abortable, guardedFetch, resolveAddresses, type RequestBound } from './guardedFetch';
import type { HttpPolicy } from './policyFetch';
import { isLoopbackHost } from './url';

const EVERY: ReadonlySet<AddressClass> = new Set(ADDRESS_CLASSES);
const PUBLIC: ReadonlySet<AddressClass> = new Set(['public']);
const NOT_LOCAL: ReadonlySet<AddressClass> = new Set(['public', 'private']);

/**
 * The HTTP policy for one MCP server: no server-side request forgery from what the server or its metadata
 * names (security property 6). A malicious server could otherwise name `http://127.0.0.1:8080/…`,
 * `https://10.0.0.5/…`, `https://169.254.169.254/…` or a DNS name resolving there as its resource metadata,
 * its authorization server, or (through that server's metadata) a token, registration, revocation or device
 * endpoint, and the client would send requests there.
 *
 * The bound comes from the MCP server itself: the classes of the addresses its host resolves to, once, on
 * the session's first request (then kept, so that a rebinding DNS cannot widen it later).
 * - A server on loopback (every address loopback) allows everything, and the policy's transport is used as
 *   it is: the tests, the demo and local development live there.
 * - A server with a public address allows public addresses only, whatever else its name resolves to: its
 *   DNS is the attacker's to write, so a loopback answer next to a public one earns nothing.
 * - A server with private addresses and no public one (a company-internal server on 10.x) allows private
 *   and public addresses. The property as written says "not on loopback"; this refinement keeps internal
 *   deployments working, and loopback and link-local (the cloud metadata service at 169.254.169.254) stay
 *   refused for every server that is not on loopback. A server on a link-local address is bounded the same
 *   way, so it cannot be reached at all; nobody deploys one there.
 * - The server's own origin is bounded the same way, and resolved and checked again on every request, so a
 *   rebinding of its name to loopback is refused (only the errors say more, since the user named it).
 * - The origins of `trustedUrls` (what the settings name: auth.resourceMetadataUrl,
 *   auth.authorizationServer, auth.authorizationServerMetadataUrl) are the user's choice and exempt, that
 *   exact origin only. What their documents name in turn is bounded like the rest.
 *
 * Every request is checked after its own DNS resolution, every redirect hop too, and connects to the
 * addresses checked (guardedFetch.ts). Refusals happen before any connection is attempted, and every
 * failure to reach a host the metadata named is the same generic error.
 *
 * Only a policy with an `addressGuard` is guarded (defaultHttpPolicy() sets one when it picks the
 * transport itself); a policy with a transport of its own and no guard is returned unchanged, so a test
 * that injects a fetch keeps full control of it.
 */
export function serverHttpPolicy(
  policy: HttpPolicy,
  serverUrl: string,
  trustedUrls: readonly string[] = [],
): HttpPolicy {
  const guard = policy.addressGuard;
  const server = new URL(serverUrl);
  if (!guard || isLoopbackHost(server.hostname)) return policy;
  const trusted = new Set(trustedUrls.flatMap(originOf));
  let resolving: Promise<ReadonlySet<AddressClass>> | undefined;
  const serverClasses = (signal?: AbortSignal) => {
    resolving ??= resolveAddresses(server.hostname, guard.resolve).then(
      (addresses) => new Set(addresses.map(({ address }) => classifyAddress(address))),
      (error: unknown) => {
        resolving = undefined; // a failed lookup is tried again next time, never kept
        throw error;
      },
    );
    return abortable(resolving, signal);
  };
  return {
    ...policy,
    fetch: async (input, init) => {
      const own = await serverClasses(init?.signal ?? undefined);
      if ([...own].every((c) => c === 'loopback')) return policy.fetch(input, init);
      const bound = own.has('public') ? PUBLIC : NOT_LOCAL;
      const boundFor = (url: URL): RequestBound =>
        trusted.has(url.origin)
          ? { allowed: EVERY, named: false }
          : { allowed: bound, named: url.origin !== server.origin };
      return guardedFetch(guard, boundFor)(input, init);
    },
  };
}

function originOf(url: string): string[] {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? [] : [origin];
  } catch {
    return []; // discovery refuses the setting with a message of its own
  }
}
