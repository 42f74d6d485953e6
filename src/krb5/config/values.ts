// Value syntaxes of krb5.conf relations, as MIT krb5 1.20 reads them (util/profile/prof_get.c,
// lib/krb5/krb/str_conv.c + deltat.y, lib/krb5/os/init_os_ctx.c). Each parser returns
// `undefined` for text MIT would reject; the caller decides whether that means "use the default"
// or "fail", because MIT does both depending on the relation.

const PROFILE_TRUE = ['y', 'yes', 'true', 't', '1', 'on'];
const PROFILE_FALSE = ['n', 'no', 'false', 'nil', '0', 'off'];

/** profile_get_boolean: the two word lists, case-insensitive; anything else is invalid. */
export function parseProfileBoolean(text: string): boolean | undefined {
  const word = text.toLowerCase();
  if (PROFILE_TRUE.includes(word)) return true;
  if (PROFILE_FALSE.includes(word)) return false;
  return undefined;
}

/** _krb5_conf_boolean (libdefaults such as forwardable, dns_lookup_kdc): true words, else false. */
export function krb5ConfBoolean(text: string): boolean {
  return PROFILE_TRUE.includes(text.toLowerCase());
}

/**
 * profile_get_integer: C strtol in base 10 (leading blanks and a sign allowed; `0x10` and `1e3`
 * are rejected, `010` is ten); the whole text must be consumed and the value must fit an int.
 * Measured on libkrb5 1.20.1 (docs/kerberos.md#files-and-syntax says base 0; it is not).
 */
export function parseProfileInteger(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  if (value > 2147483647 || value < -2147483648) return undefined;
  return value;
}

type DeltaToken =
  | { kind: 'num'; value: number }
  | { kind: 'unit'; unit: 'd' | 'h' | 'm' | 's' }
  | { kind: ':' | '-' | 'ws' }
  | { kind: 'end' };

/** deltat.y's lexer: digits, d h m s, `:`, `-`, runs of blanks; any other character ends the input. */
function tokenizeDuration(text: string): DeltaToken[] {
  const tokens: DeltaToken[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch >= '0' && ch <= '9') {
      let j = i;
      while (j < text.length && text[j]! >= '0' && text[j]! <= '9') j++;
      tokens.push({ kind: 'num', value: Number(text.slice(i, j)) });
      i = j;
    } else if (ch === 'd' || ch === 'h' || ch === 'm' || ch === 's') {
      tokens.push({ kind: 'unit', unit: ch });
      i++;
    } else if (ch === ':' || ch === '-') {
      tokens.push({ kind: ch });
      i++;
    } else if (ch === ' ' || ch === '\t') {
      while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
      tokens.push({ kind: 'ws' });
    } else {
      break;
    }
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

const UNIT_SECONDS = { d: 86400, h: 3600, m: 60, s: 1 } as const;
const UNIT_ORDER = ['d', 'h', 'm', 's'] as const;

/**
 * krb5_string_to_deltat, reproduced from its observed 1.20 behaviour: plain seconds (`300`,
 * `-5`), `NdNhNmNs` with any subset of the units in that order and blanks allowed between
 * components (`1d 2h`, `2h3s`, `1h-30m`), or `h:m[:s]` (`2:30`, `1:02:03`). Leading blanks are
 * allowed, trailing blanks are not; an unexpected letter ends the input (`10x` = 10).
 * The result must fit an int32.
 */
export function parseDuration(text: string): number | undefined {
  const tokens = tokenizeDuration(text);
  let pos = 0;
  const peek = (): DeltaToken => tokens[pos]!;
  const signedNumber = (): number | undefined => {
    let sign = 1;
    if (peek().kind === '-') {
      sign = -1;
      pos++;
    }
    const t = peek();
    if (t.kind !== 'num') return undefined;
    pos++;
    return sign * t.value;
  };
  const fits = (n: number): number | undefined => (n > 2147483647 || n < -2147483648 ? undefined : n);

  if (peek().kind === 'ws') pos++;
  const first = signedNumber();
  if (first === undefined || fits(first) === undefined) return undefined;
  const next = peek();
  if (next.kind === 'end') return first;
  if (next.kind === ':') {
    pos++;
    const t1 = peek();
    if (t1.kind !== 'num') return undefined;
    pos++;
    let total = first * 3600 + t1.value * 60;
    if (peek().kind === ':') {
      pos++;
      const t2 = peek();
      if (t2.kind !== 'num') return undefined;
      pos++;
      total += t2.value;
    }
    if (peek().kind !== 'end') return undefined;
    return fits(total);
  }
  if (next.kind !== 'unit') return undefined;
  let total = 0;
  let lastUnit = -1;
  let value: number | undefined = first;
  for (;;) {
    const unitToken = peek();
    if (unitToken.kind !== 'unit') return undefined;
    const index = UNIT_ORDER.indexOf(unitToken.unit);
    if (index <= lastUnit) return undefined;
    lastUnit = index;
    pos++;
    total += value! * UNIT_SECONDS[unitToken.unit];
    if (peek().kind === 'ws') pos++;
    if (peek().kind === 'end') return fits(total);
    value = signedNumber();
    if (value === undefined) return undefined;
  }
}
