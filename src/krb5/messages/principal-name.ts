// PrincipalName (RFC 4120 §5.2.2) and the text form of principals (MIT krb5_parse_name /
// krb5_unparse_name rules).
//
//   PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
//
// On the wire a PrincipalName has no realm: each message carries the realm in a sibling field
// (crealm, srealm, realm). `PrincipalName` here is the whole principal, realm included; the
// messages map it to and from their (realm, name) field pairs.
//
// Text form: components separated by "/", then "@realm". In components and realm, "\/", "\@"
// and "\\" stand for the literal characters, "\n", "\t", "\b", "\0" for newline, tab,
// backspace and NUL.
import * as enc from '../../der/encode.ts';
import type { DerElement } from '../../der/decode.ts';
import { NameType } from '../iana/name-type.ts';

export interface PrincipalName {
  /** name type (NameType.*); a hint only, principal comparison ignores it */
  nameType: number;
  /** name components, e.g. ["cifs", "fs1.example.test"] */
  components: string[];
  /** realm; "" is MIT's referral (unknown) realm */
  realm: string;
}

/** The realm-less part a PrincipalName has on the wire. */
export type NameParts = Pick<PrincipalName, 'nameType' | 'components'>;

export class PrincipalParseError extends Error {
  override name = 'PrincipalParseError';
  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`malformed principal "${text}": ${reason}`);
  }
}

const FIELDS = { 0: 'name-type', 1: 'name-string' } as const;

export function principalNameToAsn(name: NameParts): enc.Asn {
  return enc.taggedSequence([
    [0, enc.int32(name.nameType)],
    [1, enc.sequence(name.components.map(enc.kerberosString))],
  ]);
}

export function principalNameFromDer(element: DerElement): NameParts {
  const f = element.fields(FIELDS);
  return {
    nameType: f.required(0).int32(),
    components: f.required(1).sequenceOf((c) => c.kerberosString()),
  };
}

/** Combine a wire name with the realm its message carries next to it. */
export function withRealm(name: NameParts, realm: string): PrincipalName {
  return { nameType: name.nameType, components: name.components, realm };
}

/** Name type MIT infers when parsing text: krbtgt/X → SRV_INST, WELLKNOWN/… → WELLKNOWN. */
function inferNameType(components: string[]): number {
  if (components.length === 2 && components[0] === 'krbtgt') return NameType.SRV_INST;
  if (components.length >= 1 && components[0] === 'WELLKNOWN') return NameType.WELLKNOWN;
  return NameType.PRINCIPAL;
}

const UNESCAPE: Record<string, string> = { n: '\n', t: '\t', b: '\b', '0': '\0' };

export interface ParsePrincipalOptions {
  /** realm for text without "@realm" (default "") */
  defaultRealm?: string;
  /** name type to use instead of the inferred one */
  nameType?: number;
}

/** Parse "comp1/comp2@REALM" with krb5 escaping. */
export function parsePrincipal(text: string, options: ParsePrincipalOptions = {}): PrincipalName {
  const components: string[] = [];
  let current = '';
  let realm: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      if (i + 1 >= text.length) throw new PrincipalParseError(text, 'trailing backslash');
      const next = text[++i];
      current += UNESCAPE[next] ?? next;
    } else if (ch === '@') {
      if (realm !== undefined) throw new PrincipalParseError(text, 'more than one unescaped "@"');
      components.push(current);
      current = '';
      realm = '';
    } else if (ch === '/' && realm === undefined) {
      components.push(current);
      current = '';
    } else if (ch === '/') {
      throw new PrincipalParseError(text, 'unescaped "/" in the realm');
    } else {
      current += ch;
    }
  }
  if (realm === undefined) {
    components.push(current);
    realm = options.defaultRealm ?? '';
  } else {
    realm = current;
  }
  return { nameType: options.nameType ?? inferNameType(components), components, realm };
}

// biome-ignore lint/suspicious/noShadowRestrictedNames: module-local; the global escape() is never used
function escape(part: string): string {
  return part.replace(/[\\/@\n\t\b\0]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\0':
        return '\\0';
      default:
        return `\\${c}`;
    }
  });
}

/** Text form "comp1/comp2@REALM" (no "@" when the realm is empty). */
export function unparsePrincipal(p: Pick<PrincipalName, 'components'> & { realm?: string }): string {
  const name = p.components.map(escape).join('/');
  return p.realm ? `${name}@${escape(p.realm)}` : name;
}

/** Same components (name type ignored, as krb5_principal_compare does). */
export function sameName(a: Pick<PrincipalName, 'components'>, b: Pick<PrincipalName, 'components'>): boolean {
  return a.components.length === b.components.length && a.components.every((c, i) => c === b.components[i]);
}

/** Same realm and components (name type ignored). */
export function samePrincipal(a: PrincipalName, b: PrincipalName): boolean {
  return a.realm === b.realm && sameName(a, b);
}
