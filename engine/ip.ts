/**
 * IPv4/IPv6 parsing and CIDR membership, shared by the `cidr` operator, `inList` cidr lists and threat intel.
 * Addresses are held as four 32-bit words (IPv4 in the last word with version 4) so both families take one path.
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are treated as the IPv4 address they carry.
 */
export interface IpAddress {
  version: 4 | 6;
  words: readonly [number, number, number, number];
}

export interface Cidr {
  version: 4 | 6;
  words: readonly [number, number, number, number];
  prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4Word(text: string): number | undefined {
  const match = IPV4.exec(text);
  if (!match) return undefined;
  let word = 0;
  for (let i = 1; i <= 4; i++) {
    const part = match[i]!;
    // Leading zeros are ambiguous (octal in some parsers); refuse them like Node's net.isIP does.
    if (part.length > 1 && part[0] === '0') return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    word = word * 256 + octet;
  }
  return word;
}

function parseIpv6Words(text: string): [number, number, number, number] | undefined {
  let body = text;
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone);
  const groups: number[] = [];
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parseHalf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4Word(part);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
        out.push(Number.parseInt(part, 16));
      }
    }
    return out;
  };
  const head = parseHalf(halves[0]!);
  const tail = halves.length === 2 ? parseHalf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups.push(...head, ...new Array<number>(missing).fill(0), ...tail);
  } else {
    if (head.length !== 8) return undefined;
    groups.push(...head);
  }
  return [
    ((groups[0]! << 16) | groups[1]!) >>> 0,
    ((groups[2]! << 16) | groups[3]!) >>> 0,
    ((groups[4]! << 16) | groups[5]!) >>> 0,
    ((groups[6]! << 16) | groups[7]!) >>> 0,
  ];
}

/** Parses an address; accepts `[v6]` brackets. Returns undefined for anything that is not an IP literal. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.length === 0 || text.length > 64) return undefined;
  const v4 = parseIpv4Word(text);
  if (v4 !== undefined) return { version: 4, words: [0, 0, 0, v4] };
  const bare = text[0] === '[' && text[text.length - 1] === ']' ? text.slice(1, -1) : text;
  if (!bare.includes(':')) return undefined;
  const words = parseIpv6Words(bare);
  if (!words) return undefined;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff)
    return { version: 4, words: [0, 0, 0, words[3]] };
  return { version: 6, words };
}

function maskWord(word: number, bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return word >>> 0;
  return (word & (~0 << (32 - bits))) >>> 0;
}

/** The network of `address` under `prefix` bits, as the key CIDR lookups use. */
function networkKey(address: IpAddress, prefix: number): string {
  const total = address.version === 4 ? 32 : 128;
  const offset = 128 - total;
  const parts: number[] = [];
  for (let i = 0; i < 4; i++) parts.push(maskWord(address.words[i]!, offset + prefix - i * 32));
  return `${address.version}:${parts.join('.')}`;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`; a bare address is a host route (/32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const max = address.version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits)) return undefined;
    prefix = Number(bits);
    // `::ffff:10.0.0.0/104` is IPv4 10.0.0.0/8.
    if (address.version === 4 && text.includes(':')) prefix -= 96;
    if (prefix < 0 || prefix > max) return undefined;
  }
  return { version: address.version, words: address.words, prefix };
}

/**
 * A set of networks with lookup cost bounded by the number of distinct prefix lengths (at most 33 + 129),
 * not by the number of networks: one hash lookup per prefix length present.
 */
export class CidrSet<T = true> {
  private readonly byPrefix = new Map<string, Map<string, T>>();
  private readonly prefixes: Array<{ version: 4 | 6; prefix: number; networks: Map<string, T> }> = [];

  add(cidr: Cidr, value: T): void {
    const slot = `${cidr.version}/${cidr.prefix}`;
    let networks = this.byPrefix.get(slot);
    if (!networks) {
      networks = new Map();
      this.byPrefix.set(slot, networks);
      this.prefixes.push({ version: cidr.version, prefix: cidr.prefix, networks });
      // Longest prefix first, so lookup() returns the most specific network.
      this.prefixes.sort((a, b) => b.prefix - a.prefix);
    }
    const key = networkKey(cidr, cidr.prefix);
    if (!networks.has(key)) networks.set(key, value);
  }

  get size(): number {
    let total = 0;
    for (const entry of this.prefixes) total += entry.networks.size;
    return total;
  }

  /** The value of the most specific network containing `text`, if `text` is an IP literal inside one. */
  lookup(text: string): T | undefined {
    const address = parseIp(text);
    return address ? this.lookupAddress(address) : undefined;
  }

  lookupAddress(address: IpAddress): T | undefined {
    for (const entry of this.prefixes) {
      if (entry.version !== address.version) continue;
      const hit = entry.networks.get(networkKey(address, entry.prefix));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}
