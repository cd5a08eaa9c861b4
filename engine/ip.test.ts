import { describe, expect, it } from 'vitest';
import { CidrSet, parseCidr, parseIp } from './ip.ts';

describe('ip', () => {
  it('parses IPv4, IPv6, brackets and IPv4-mapped addresses', () => {
    expect(parseIp('10.1.2.3')?.version).toBe(4);
    expect(parseIp('[2001:db8::1]')?.version).toBe(6);
    expect(parseIp('::ffff:10.1.2.3')).toEqual(parseIp('10.1.2.3'));
    for (const bad of ['10.1.2', '010.1.2.3', '256.1.1.1', 'evil.example', '1::2::3', ''])
      expect(parseIp(bad)).toBeUndefined();
  });

  it('matches the most specific network', () => {
    const set = new CidrSet<string>();
    set.add(parseCidr('10.0.0.0/8')!, 'wide');
    set.add(parseCidr('10.1.0.0/16')!, 'narrow');
    set.add(parseCidr('2001:db8::/32')!, 'v6');
    expect(set.lookup('10.1.9.9')).toBe('narrow');
    expect(set.lookup('10.2.0.1')).toBe('wide');
    expect(set.lookup('2001:db8:ffff::1')).toBe('v6');
    expect(set.lookup('11.0.0.1')).toBeUndefined();
    expect(set.lookup('2001:db9::1')).toBeUndefined();
  });
});
