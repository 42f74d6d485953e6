// The captured gssproxy byte vectors (gssproxy-test-vectors.json next to this file; described in
// docs/gssproxy-protocol.md#byte-vectors): Debian 12 gssproxy 0.9.1-1+b1 with MIT krb5 1.20.1 on x86_64, throwaway realm
// EXAMPLE.COM; keys on the acceptor side from python-gssapi (GSS_C_INQ_SSPI_SESSION_KEY).
import { readFileSync } from 'node:fs';

interface Vector {
  [key: string]: unknown;
}

const raw = JSON.parse(readFileSync(new URL('./gssproxy-test-vectors.json', import.meta.url), 'utf8')) as Record<string, Vector>;

/** The vector `name`, with a checked accessor for its hex and plain fields. */
export function vector(name: string): {
  hex(field: string): Buffer;
  get<T = unknown>(field: string): T;
  expected<T = unknown>(field: string): T;
} {
  const v = raw[name];
  if (!v) throw new Error(`no vector ${name}`);
  return {
    hex(field) {
      const s = v[field];
      if (typeof s !== 'string') throw new Error(`${name}.${field} is not a hex string`);
      return Buffer.from(s, 'hex');
    },
    get<T>(field: string): T {
      if (!(field in v)) throw new Error(`no field ${name}.${field}`);
      return v[field] as T;
    },
    expected<T>(field: string): T {
      const e = v.expected as Record<string, unknown> | undefined;
      if (!e || !(field in e)) throw new Error(`no expected ${name}.${field}`);
      return e[field] as T;
    },
  };
}

export function vectorNames(): string[] {
  return Object.keys(raw).filter((k) => !k.startsWith('_'));
}
