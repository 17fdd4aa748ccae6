import { isIP } from 'node:net';

/**
 * How internal an IP address is, from the client's point of view: what an attacker-named URL could reach
 * through it. `loopback` is this machine (127/8, ::1, and the unspecified 0.0.0.0/8 and ::, which connect
 * to this machine too), `linkLocal` the local link (169.254/16 with the cloud metadata service,
 * fe80::/10), `private` the local network (RFC 1918, 100.64/10 carrier-grade NAT, fc00::/7 unique-local,
 * the deprecated fec0::/10 site-local), and `public` everything else, NAT64 (64:ff9b::/96) included.
 */
export type AddressClass = 'public' | 'private' | 'linkLocal' | 'loopback';

/** The classes from the least to the most internal. */
export const ADDRESS_CLASSES: readonly AddressClass[] = ['public', 'private', 'linkLocal', 'loopback'];

/**
 * The class of an IP literal. IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) IPv6
 * addresses are classed as the IPv4 address they carry, since that is where a connection to them goes. A
 * zone index (`fe80::1%eth0`) is ignored. Anything that is not an IP literal throws a TypeError: callers
 * classify resolved addresses, never host names.
 */
export function classifyAddress(address: string): AddressClass {
  const ip = address.replace(/%.*$/, '');
  if (isIP(ip) === 4) return classifyV4(v4Bytes(ip));
  if (isIP(ip) === 6) return classifyV6(v6Bytes(ip));
  throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
}

function classifyV4([a, b]: readonly number[]): AddressClass {
  if (a === 127 || a === 0) return 'loopback';
  if (a === 169 && b === 254) return 'linkLocal';
  if (
    a === 10 ||
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b! >= 64 && b! <= 127)
  )
    return 'private';
  return 'public';
}

function classifyV6(bytes: readonly number[]): AddressClass {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyV4(bytes.slice(12)); // ::ffff:a.b.c.d
  if (zeros(0, 12)) {
    if (zeros(12, 15) && (bytes[15] === 0 || bytes[15] === 1)) return 'loopback'; // :: and ::1
    return classifyV4(bytes.slice(12)); // ::a.b.c.d, deprecated but still routed as IPv4 by some stacks
  }
  const [first, second] = bytes as [number, number];
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'linkLocal'; // fe80::/10
  if (first === 0xfe && (second & 0xc0) === 0xc0) return 'private'; // fec0::/10
  if ((first & 0xfe) === 0xfc) return 'private'; // fc00::/7
  return 'public';
}

function v4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** The 16 bytes of a valid IPv6 literal (`isIP` has checked it), with `::` and a dotted IPv4 tail expanded. */
function v6Bytes(ip: string): number[] {
  const [head = '', tail] = ip.toLowerCase().split('::') as [string, string | undefined];
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (group.includes('.')) {
            const [a, b, c, d] = v4Bytes(group) as [number, number, number, number];
            return [(a << 8) | b, (c << 8) | d];
          }
          return [parseInt(group, 16)];
        });
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}
