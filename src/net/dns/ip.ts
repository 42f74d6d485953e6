// IP address text forms (RFC 4291 §2.2 input, RFC 5952 output) and reverse-lookup names
// (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa). Pure functions, no resolver.

export type IpFamily = 4 | 6;

/** Parse strict dotted-quad IPv4 (four decimal octets, no leading zeros beyond "0"). */
export function parseIpv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Parse IPv6 text (compressed `::`, fully expanded, or with a trailing dotted IPv4). */
export function parseIpv6(text: string): Buffer | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  let groupText = text;
  let tail: Buffer | undefined;
  if (text.includes('.')) {
    const cut = text.lastIndexOf(':');
    if (cut < 0) return undefined;
    tail = parseIpv4(text.slice(cut + 1));
    if (!tail) return undefined;
    groupText = text.slice(0, cut + 1);
    if (!groupText.endsWith('::')) groupText = groupText.slice(0, -1);
  }
  const groupsWanted = tail ? 6 : 8;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const halves = groupText.split('::');
  let groups: number[];
  if (halves.length === 2) {
    const left = parseGroups(halves[0]!);
    const right = parseGroups(halves[1]!);
    if (!left || !right) return undefined;
    const missing = groupsWanted - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else if (halves.length === 1) {
    const all = parseGroups(groupText);
    if (!all || all.length !== groupsWanted || groupText === '') return undefined;
    groups = all;
  } else {
    return undefined;
  }
  const out = Buffer.alloc(16);
  // biome-ignore lint/suspicious/useIterableCallbackReturn: the write's return value is not wanted
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  tail?.copy(out, 12);
  return out;
}

/** The family of an address literal, or undefined when `text` is not one. */
export function ipFamily(text: string): IpFamily | undefined {
  if (parseIpv4(text)) return 4;
  if (parseIpv6(stripScope(text))) return 6;
  return undefined;
}

/**
 * A dgram `lookup` that accepts IP literals only. Node's default (dns.lookup) loads the dns
 * module on first use, whose c-ares channel reads /etc/resolv.conf, /etc/nsswitch.conf and
 * /etc/svc.conf of the mount namespace the main thread is in — the caller's, after setns.
 */
export function ipLiteralLookup(
  hostname: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = ipFamily(hostname);
  if (family) callback(null, hostname, family);
  else callback(Object.assign(new Error(`not an IP address literal: ${hostname}`), { code: 'EINVAL' }), '', 0);
}

function stripScope(text: string): string {
  const at = text.indexOf('%');
  return at >= 0 ? text.slice(0, at) : text;
}

/** RFC 5952 text of 16 address bytes (lower case, longest zero run of ≥2 groups compressed). */
export function formatIpv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** A parsed address: family, bytes and canonical text. */
export interface IpAddress {
  family: IpFamily;
  bytes: Buffer;
  /** dotted quad, or RFC 5952 text */
  text: string;
}

/**
 * Parse the address forms the kernel puts in a cifs.spnego description: dotted IPv4, IPv6 text
 * (the kernel's fully expanded `%pI6` form or compressed), or the legacy 32-hex-digit IPv6 form
 * without colons (docs/kernel-key-protocol.md#legacy-forms: longer than 16 characters and no `:`). A `%scope`
 * suffix is dropped.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4) return { family: 4, bytes: v4, text };
  let candidate = stripScope(text);
  if (candidate.length > 16 && !candidate.includes(':') && /^[0-9a-fA-F]{32}$/.test(candidate)) {
    candidate = candidate.match(/.{4}/g)!.join(':');
  }
  const v6 = parseIpv6(candidate);
  if (v6) return { family: 6, bytes: v6, text: formatIpv6(v6) };
  return undefined;
}

/** True for ::ffff:a.b.c.d. */
export function isV4Mapped(bytes: Buffer): boolean {
  return bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The PTR query name of an address (absolute, with the trailing dot). */
export function reverseName(address: IpAddress): string {
  let bytes = address.bytes;
  if (address.family === 6 && isV4Mapped(bytes)) bytes = bytes.subarray(12);
  if (bytes.length === 4) return `${bytes[3]}.${bytes[2]}.${bytes[1]}.${bytes[0]}.in-addr.arpa.`;
  const nibbles: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) {
    nibbles.push((bytes[i]! & 0x0f).toString(16), (bytes[i]! >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa.`;
}

/** Same address, whatever the text form. */
export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.bytes.equals(b.bytes);
}
