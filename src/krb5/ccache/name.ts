// Credential-cache names as MIT libkrb5 resolves them (os/ccdefname.c, os/expand_path.c,
// ccache/ccbase.c), verified against MIT 1.20 klist on Debian 12:
//
//   default name = KRB5CCNAME if set (verbatim, even empty, no %{…} expansion)
//                | [libdefaults] default_ccache_name, %{…}-expanded (an empty value is ignored)
//                | the built-in FILE:/tmp/krb5cc_%{uid}, expanded
//   name         = TYPE ":" residual   (split at the first ":")
//                | path                (no ":" → FILE)
//                | X ":" rest          (a single letter before the first ":" is a drive letter:
//                                       FILE with the whole name as path — on Linux too)
//
// %{token} lookup compares only the token's length against each table entry in MIT's table
// order (LIBDIR, BINDIR, SBINDIR, euid, username, TEMP, USERID, uid, null), so a prefix matches
// the first entry it begins: %{u} → username, %{e} → euid, %{L} → LIBDIR. Empty and unknown
// tokens, and a "%{" without "}", are errors.
import { CcacheError } from './errors.ts';
import type { CcacheType } from './model.ts';

/** Inputs of %{…} expansion; the pipeline fills them for the target user (no NSS lookups here). */
export interface ExpansionContext {
  /** real uid (%{uid}, %{USERID}) */
  uid: number;
  /** effective uid (%{euid}) */
  euid: number;
  /** login name of the effective uid (%{username}); absent → %{username} is an error, as in MIT without a passwd entry */
  username?: string;
  /** $TMPDIR when the profile is not in secure mode; absent or empty → /tmp */
  tmpdir?: string;
  /** build-time directories; Debian's defaults when absent */
  libdir?: string;
  bindir?: string;
  sbindir?: string;
}

/** MIT's build-time default (DEFCCNAME) on Debian and upstream. */
export const BUILTIN_DEFAULT_CCACHE_NAME = 'FILE:/tmp/krb5cc_%{uid}';

const DEBIAN_LIBDIR = '/usr/lib/x86_64-linux-gnu';

type TokenName = 'LIBDIR' | 'BINDIR' | 'SBINDIR' | 'euid' | 'username' | 'TEMP' | 'USERID' | 'uid' | 'null';

/** MIT's table order matters for the prefix quirk. */
const TOKEN_TABLE: TokenName[] = ['LIBDIR', 'BINDIR', 'SBINDIR', 'euid', 'username', 'TEMP', 'USERID', 'uid', 'null'];

function tokenValue(token: TokenName, ctx: ExpansionContext, template: string): string {
  switch (token) {
    case 'LIBDIR':
      return ctx.libdir ?? DEBIAN_LIBDIR;
    case 'BINDIR':
      return ctx.bindir ?? '/usr/bin';
    case 'SBINDIR':
      return ctx.sbindir ?? '/usr/sbin';
    case 'euid':
      return String(ctx.euid);
    case 'USERID':
    case 'uid':
      return String(ctx.uid);
    case 'TEMP':
      return ctx.tmpdir ? ctx.tmpdir : '/tmp';
    case 'null':
      return '';
    case 'username':
      if (ctx.username === undefined) {
        throw new CcacheError('bad-name', `cannot expand %{username} in "${template}": no passwd entry for uid ${ctx.euid}`);
      }
      return ctx.username;
  }
}

/** MIT k5_expand_path_tokens. */
export function expandPathTokens(template: string, ctx: ExpansionContext): string {
  let out = '';
  let i = 0;
  for (;;) {
    const open = template.indexOf('%{', i);
    if (open < 0) return out + template.slice(i);
    out += template.slice(i, open);
    const close = template.indexOf('}', open + 2);
    if (close < 0) throw new CcacheError('bad-name', `"%{" without "}" in "${template}"`);
    const token = template.slice(open + 2, close);
    const entry = token === '' ? undefined : TOKEN_TABLE.find((t) => t.startsWith(token));
    if (!entry) throw new CcacheError('bad-name', `unknown path token %{${token}} in "${template}"`);
    out += tokenValue(entry, ctx, template);
    i = close + 1;
  }
}

export interface DefaultCcacheNameInput extends ExpansionContext {
  /** KRB5CCNAME of our environment (set from the probed value by the pipeline); undefined = unset */
  envKRB5CCNAME?: string;
  /** [libdefaults] default_ccache_name, raw (before expansion); undefined = not configured */
  profileDefaultCcacheName?: string;
}

export interface DefaultCcacheName {
  name: string;
  source: 'KRB5CCNAME' | 'default_ccache_name' | 'built-in';
}

/** krb5_cc_default_name. */
export function resolveDefaultCcacheName(input: DefaultCcacheNameInput): DefaultCcacheName {
  if (input.envKRB5CCNAME !== undefined) return { name: input.envKRB5CCNAME, source: 'KRB5CCNAME' };
  if (input.profileDefaultCcacheName !== undefined && input.profileDefaultCcacheName !== '') {
    return { name: expandPathTokens(input.profileDefaultCcacheName, input), source: 'default_ccache_name' };
  }
  return { name: expandPathTokens(BUILTIN_DEFAULT_CCACHE_NAME, input), source: 'built-in' };
}

/** Types MIT knows on some platform but this implementation does not open. */
const KNOWN_UNSUPPORTED = new Set(['API', 'MSLSA']);
const SUPPORTED = new Set<CcacheType>(['FILE', 'DIR', 'KEYRING', 'KCM', 'MEMORY']);

export interface SplitCcacheName {
  type: CcacheType;
  residual: string;
}

/** krb5_cc_resolve's split of a name into type and residual; unknown types are errors. */
export function splitCcacheName(name: string): SplitCcacheName {
  const colon = name.indexOf(':');
  if (colon < 0) return { type: 'FILE', residual: name };
  if (colon === 1 && /^[A-Za-z]$/.test(name[0]!)) return { type: 'FILE', residual: name };
  const prefix = name.slice(0, colon);
  const residual = name.slice(colon + 1);
  if (SUPPORTED.has(prefix as CcacheType)) return { type: prefix as CcacheType, residual };
  if (KNOWN_UNSUPPORTED.has(prefix)) {
    throw new CcacheError('unsupported', `credential cache type ${prefix}: is not available on Linux (${name})`, name);
  }
  throw new CcacheError('bad-name', `unknown credential cache type "${prefix}" in "${name}"`, name);
}
