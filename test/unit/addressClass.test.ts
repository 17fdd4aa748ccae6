import assert from 'node:assert/strict';
import { classifyAddress, type AddressClass } from '../../src/oauth/http/addressClass';

describe('classifyAddress (security property 6)', () => {
  const table: [string, AddressClass][] = [
    // IPv4 loopback, and the unspecified 0.0.0.0/8, which connects to this machine too
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['0.1.2.3', 'loopback'],
    // link-local, with the cloud metadata service
    ['169.254.169.254', 'linkLocal'],
    ['169.254.0.1', 'linkLocal'],
    // RFC 1918 and carrier-grade NAT, at both edges of each range
    ['10.0.0.0', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    // just outside them
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['169.253.255.255', 'public'],
    ['169.255.0.0', 'public'],
    ['192.167.255.255', 'public'],
    ['192.169.0.0', 'public'],
    ['11.0.0.0', 'public'],
    ['126.255.255.255', 'public'],
    ['128.0.0.0', 'public'],
    ['1.0.0.0', 'public'],
    ['8.8.8.8', 'public'],
    ['203.0.113.10', 'public'],
    // IPv6 loopback and unspecified
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'loopback'],
    // link-local, with and without a zone index
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['febf:ffff::1', 'linkLocal'],
    // unique-local fc00::/7, and the deprecated site-local fec0::/10
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
    ['fec0::1', 'private'],
    // IPv4-mapped: the IPv4 address is where the connection goes, in every spelling
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::FFFF:169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.5', 'private'],
    ['::ffff:c0a8:101', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    // IPv4-compatible (deprecated)
    ['::127.0.0.1', 'loopback'],
    ['::10.0.0.5', 'private'],
    ['::8.8.8.8', 'public'],
    // NAT64, 6to4 and everything else in IPv6 is public
    ['64:ff9b::7f00:1', 'public'],
    ['64:ff9b::10.0.0.5', 'public'],
    ['2002:7f00:1::', 'public'],
    ['2001:db8::1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['fbff:ffff::1', 'public'],
    ['fe00::1', 'public'],
    ['ff02::1', 'public'],
  ];
  for (const [address, expected] of table) {
    it(`${address} is ${expected}`, () => {
      assert.equal(classifyAddress(address), expected);
    });
  }

  for (const notAnAddress of ['localhost', 'example.com', '127.1', '2130706433', '0x7f.0.0.1', '[::1]', '']) {
    it(`refuses to classify ${JSON.stringify(notAnAddress)}, which is not an IP address`, () => {
      assert.throws(() => classifyAddress(notAnAddress), TypeError);
    });
  }
});
