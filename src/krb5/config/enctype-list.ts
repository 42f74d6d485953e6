// The enctype-list syntax of permitted_enctypes / default_tgs_enctypes (MIT krb5 1.20
// krb5int_parse_enctype_list and the names of lib/crypto/krb/etypes.c).
//
//   list   := token { (blank | ",") token }
//   token  := ["+" | "-"] ( "DEFAULT" | family | enctype-name )      (case-insensitive)
//   family := aes (18 17 20 19) | rc4 (23) | des3 (16) | camellia (26 25)
// "+" or no sign adds at the end (if absent), "-" removes; unknown names are ignored; weak
// enctypes are added only with allow_weak_crypto; an empty result is a configuration error.
// Enctype numbers are not accepted (MIT rejects `18`).

/** MIT 1.20's built-in default list (verified with krb5_get_permitted_enctypes). */
export const MIT_DEFAULT_ENCTYPES: readonly number[] = [18, 17, 20, 19, 16, 23, 25, 26];

/** Enctypes this implementation can use, in no particular order. */
export const IMPLEMENTED_ENCTYPES: readonly number[] = [17, 18, 19, 20, 23];

/** Enctypes MIT 1.20 knows, with every name it accepts for them. */
const ENCTYPE_NAMES: ReadonlyArray<readonly [number, readonly string[]]> = [
  [16, ['des3-cbc-sha1', 'des3-hmac-sha1', 'des3-cbc-sha1-kd']],
  [17, ['aes128-cts-hmac-sha1-96', 'aes128-cts', 'aes128-sha1']],
  [18, ['aes256-cts-hmac-sha1-96', 'aes256-cts', 'aes256-sha1']],
  [19, ['aes128-cts-hmac-sha256-128', 'aes128-sha2']],
  [20, ['aes256-cts-hmac-sha384-192', 'aes256-sha2']],
  [23, ['arcfour-hmac', 'rc4-hmac', 'arcfour-hmac-md5']],
  [24, ['arcfour-hmac-exp', 'rc4-hmac-exp', 'arcfour-hmac-md5-exp']],
  [25, ['camellia128-cts-cmac', 'camellia128-cts']],
  [26, ['camellia256-cts-cmac', 'camellia256-cts']],
];

/** Weak enctypes MIT still knows (single DES is gone since 1.18): only the export RC4. */
const WEAK_ENCTYPES: readonly number[] = [24];

const FAMILIES: Record<string, readonly number[]> = {
  aes: [18, 17, 20, 19],
  rc4: [23],
  des3: [16],
  camellia: [26, 25],
};

/** The number of an enctype name or alias (case-insensitive), or undefined. */
export function enctypeByName(name: string): number | undefined {
  const lower = name.toLowerCase();
  for (const [number, names] of ENCTYPE_NAMES) if (names.includes(lower)) return number;
  return undefined;
}

/** The canonical MIT name of an enctype number (for traces and errors). */
export function enctypeName(enctype: number): string {
  for (const [number, names] of ENCTYPE_NAMES) if (number === enctype) return names[0]!;
  return `enctype-${enctype}`;
}

export interface EnctypeListResult {
  /** The list MIT 1.20 would compute (may contain enctypes we do not implement). */
  mitList: number[];
  /** Tokens MIT ignores because it does not know them. */
  unknown: string[];
}

/** Evaluate an enctype list against `defaults` (the value DEFAULT stands for). */
export function parseEnctypeList(text: string, defaults: readonly number[], allowWeak: boolean): EnctypeListResult {
  const list: number[] = [];
  const unknown: string[] = [];
  const change = (enctype: number, add: boolean): void => {
    if (!allowWeak && WEAK_ENCTYPES.includes(enctype)) return;
    const at = list.indexOf(enctype);
    if (add && at < 0) list.push(enctype);
    if (!add && at >= 0) list.splice(at, 1);
  };
  for (let token of text.split(/[ \t\r\n,]+/)) {
    if (token === '') continue;
    let add = true;
    if (token[0] === '+' || token[0] === '-') {
      add = token[0] === '+';
      token = token.slice(1);
    }
    const lower = token.toLowerCase();
    const members = lower === 'default' ? defaults : FAMILIES[lower];
    if (members) {
      for (const e of members) change(e, add);
      continue;
    }
    const enctype = enctypeByName(token);
    if (enctype !== undefined) change(enctype, add);
    else if (token !== '') unknown.push(token);
  }
  return { mitList: list, unknown };
}
