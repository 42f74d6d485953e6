// The two crypto back ends (src/krb5/crypto/primitives.ts) compute the same functions: a
// differential property test over random keys, IVs and data; the native back end's argument
// checks (a wrong key length is a RangeError, never a crash); the default choice; randomInt; and,
// in a fresh node process running code bundled like the production build, that the default back
// end does not load node:crypto.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aesCtsDecrypt, aesCtsEncrypt } from '../../../../src/krb5/crypto/cts.ts';
import {
  type CryptoPrimitives,
  cryptoPrimitives,
  type HashName,
  nativePrimitives,
  nodePrimitives,
  randomInt,
  sameBytes,
  selectCryptoPrimitives,
} from '../../../../src/krb5/crypto/primitives.ts';
import { native } from '../../../../src/os/native.ts';

const root = fileURLToPath(new URL('../../../..', import.meta.url));

const aesKey = fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 32, maxLength: 32 }));
const iv = fc.uint8Array({ minLength: 16, maxLength: 16 });
const blocks = fc.integer({ min: 0, max: 8 }).chain((n) => fc.uint8Array({ minLength: 16 * n, maxLength: 16 * n }));
const hash = fc.constantFrom<HashName>('md5', 'sha1', 'sha256', 'sha384');
const parts = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 });

/** The same call on both back ends: equal results, or both throw the same kind of error. */
function same<T extends Buffer | boolean>(call: (p: CryptoPrimitives) => T): void {
  const outcome = (p: CryptoPrimitives): { ok: T } | { error: string } => {
    try {
      return { ok: call(p) };
    } catch (e) {
      return { error: (e as Error).constructor.name };
    }
  };
  expect(outcome(nativePrimitives)).toEqual(outcome(nodePrimitives));
}

describe('native and node:crypto back ends agree', () => {
  it('AES-CBC encrypt and decrypt (128 and 256, any IV, whole blocks)', () => {
    fc.assert(
      fc.property(aesKey, iv, blocks, (k, v, d) => {
        same((p) => p.aesCbcEncrypt(k, v, d));
        same((p) => p.aesCbcDecrypt(k, v, d));
        expect(nativePrimitives.aesCbcDecrypt(k, v, nativePrimitives.aesCbcEncrypt(k, v, d))).toEqual(Buffer.from(d));
      }),
      { numRuns: 300 },
    );
  });

  it('AES-ECB encrypt and decrypt', () => {
    fc.assert(
      fc.property(aesKey, blocks, (k, d) => {
        same((p) => p.aesEcbEncrypt(k, d));
        same((p) => p.aesEcbDecrypt(k, d));
      }),
      { numRuns: 300 },
    );
  });

  it('AES-CTS (RFC 3962) built on either back end', () => {
    fc.assert(
      fc.property(aesKey, fc.uint8Array({ minLength: 16, maxLength: 150 }), (k, d) => {
        const both = (f: () => Buffer): Buffer[] =>
          (['native', 'node'] as const).map((b) => {
            selectCryptoPrimitives(b);
            return f();
          });
        const [cn, cj] = both(() => aesCtsEncrypt(k, d));
        expect(cn).toEqual(cj);
        const [pn, pj] = both(() => aesCtsDecrypt(k, d));
        expect(pn).toEqual(pj);
      }),
      { numRuns: 200 },
    );
    selectCryptoPrimitives(undefined);
  });

  it('HMAC and digests over one or more buffers (including none and empty ones, and empty keys)', () => {
    fc.assert(
      fc.property(hash, fc.uint8Array({ maxLength: 200 }), parts, (h, k, d) => {
        same((p) => p.hmac(h, k, d));
        same((p) => p.digest(h, d));
        // the parts are concatenated
        expect(nativePrimitives.hmac(h, k, d)).toEqual(nativePrimitives.hmac(h, k, [Buffer.concat(d)]));
      }),
      { numRuns: 300 },
    );
  });

  it('PBKDF2-HMAC', () => {
    fc.assert(
      fc.property(
        hash,
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 64 }),
        (h, pw, salt, iterations, length) => {
          same((p) => p.pbkdf2(h, pw, salt, iterations, length));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('timingSafeEqual is byte equality, on either back end; sameBytes also takes different lengths', () => {
    const pair = fc.uint8Array({ maxLength: 64 }).chain((a) =>
      fc.oneof(
        fc.constant([a, Uint8Array.from(a)] as const),
        fc.uint8Array({ minLength: a.length, maxLength: a.length }).map((b) => [a, b] as const),
        fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
          const b = Uint8Array.from(a);
          if (b.length > 0) b[i % b.length] ^= x;
          return [a, b] as const;
        }),
      ),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const equal = Buffer.from(a).equals(b);
        expect(nativePrimitives.timingSafeEqual(a, b)).toBe(equal);
        expect(nodePrimitives.timingSafeEqual(a, b)).toBe(equal);
      }),
      { numRuns: 500 },
    );
    expect(() => nativePrimitives.timingSafeEqual(Buffer.alloc(3), Buffer.alloc(4))).toThrow(RangeError);
    expect(() => nodePrimitives.timingSafeEqual(Buffer.alloc(3), Buffer.alloc(4))).toThrow(RangeError);
    expect(sameBytes(Buffer.alloc(3), Buffer.alloc(4))).toBe(false);
  });

  it('random bytes have the requested length and differ between calls', () => {
    for (const p of [nativePrimitives, nodePrimitives]) {
      expect(p.randomBytes(0).length).toBe(0);
      const a = p.randomBytes(32);
      expect(a.length).toBe(32);
      expect(a.equals(p.randomBytes(32))).toBe(false);
    }
  });

  it('views at an offset into a larger buffer are read at their offset', () => {
    const big = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    const k = big.subarray(7, 39);
    const d = big.subarray(50, 82);
    same((p) => p.aesEcbEncrypt(k, d));
    same((p) => p.hmac('sha256', k, [d, big.subarray(3, 5)]));
    expect(nativePrimitives.timingSafeEqual(big.subarray(0, 10), Buffer.from(big.subarray(0, 10)))).toBe(true);
  });
});

describe('the native back end rejects bad arguments with an error, not a crash', () => {
  it.each([0, 1, 15, 17, 24, 31, 33, 64])('AES key of %i bytes', (n) => {
    const key = Buffer.alloc(n, 1);
    expect(() => nativePrimitives.aesCbcEncrypt(key, Buffer.alloc(16), Buffer.alloc(16))).toThrow(/AES key must be 16 or 32 bytes/);
    expect(() => nativePrimitives.aesCbcDecrypt(key, Buffer.alloc(16), Buffer.alloc(16))).toThrow(RangeError);
    expect(() => nativePrimitives.aesEcbEncrypt(key, Buffer.alloc(16))).toThrow(RangeError);
    expect(() => nativePrimitives.aesEcbDecrypt(key, Buffer.alloc(16))).toThrow(RangeError);
    // and the same error as node:crypto's back end gives
    expect(() => nodePrimitives.aesEcbEncrypt(key, Buffer.alloc(16))).toThrow(RangeError);
  });

  it('IVs that are not one block, data that is not whole blocks, unknown hashes, non-byte arguments', () => {
    const k = Buffer.alloc(16);
    expect(() => nativePrimitives.aesCbcEncrypt(k, Buffer.alloc(8), Buffer.alloc(16))).toThrow(/IV must be 16 bytes/);
    expect(() => nativePrimitives.aesCbcEncrypt(k, Buffer.alloc(16), Buffer.alloc(17))).toThrow(/whole 16-byte blocks/);
    expect(() => nativePrimitives.aesEcbDecrypt(k, Buffer.alloc(1))).toThrow(RangeError);
    expect(() => nativePrimitives.hmac('md4' as HashName, k, [])).toThrow(TypeError);
    expect(() => nativePrimitives.digest('sha512' as HashName, [])).toThrow(TypeError);
    const addon = native();
    expect(() => addon.aesEcb(true, 'sixteen byte key' as unknown as Uint8Array, Buffer.alloc(16))).toThrow(TypeError);
    expect(() => addon.aesEcb(true, new Uint16Array(8) as unknown as Uint8Array, Buffer.alloc(16))).toThrow(TypeError);
    expect(() => addon.hmac('sha1', k, [Buffer.alloc(1), 'x' as unknown as Uint8Array])).toThrow(TypeError);
    expect(() => addon.hmac('sha1', k, 'x' as unknown as Uint8Array[])).toThrow(TypeError);
    expect(() => nativePrimitives.pbkdf2('sha1', k, k, 0, 16)).toThrow(RangeError);
    expect(() => nativePrimitives.pbkdf2('sha1', k, k, 1, 0)).toThrow(RangeError);
    expect(() => nativePrimitives.randomBytes(-1)).toThrow(RangeError);
    expect(() => nativePrimitives.randomBytes(1.5)).toThrow(RangeError);
  });
});

describe('choosing the back end', () => {
  afterEach(() => selectCryptoPrimitives(undefined));

  it('defaults to the addon (it is built here); can be set either way and back', () => {
    expect(cryptoPrimitives().name).toBe('native');
    selectCryptoPrimitives('node');
    expect(cryptoPrimitives()).toBe(nodePrimitives);
    selectCryptoPrimitives('native');
    expect(cryptoPrimitives()).toBe(nativePrimitives);
    selectCryptoPrimitives(undefined);
    expect(cryptoPrimitives()).toBe(nativePrimitives);
  });
});

describe('randomInt', () => {
  it('stays in [min, max) and reaches both ends of a small range', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const v = randomInt(3, 7);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThan(7);
      seen.add(v);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    for (let i = 0; i < 100; i++) {
      const v = randomInt(0, 0x7fffffff);
      expect(Number.isInteger(v) && v >= 0 && v < 0x7fffffff).toBe(true);
    }
    expect(randomInt(0, 0x1_0000_0000)).toBeLessThan(0x1_0000_0000);
  });

  it('rejects empty, inverted, too wide or fractional ranges', () => {
    for (const [a, b] of [
      [5, 5],
      [6, 5],
      [0, 0x1_0000_0001],
      [0.5, 3],
    ]) {
      expect(() => randomInt(a as number, b as number)).toThrow(RangeError);
    }
  });
});

describe('node:crypto is not loaded by the default back end (fresh process, production bundling)', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cifs-upcall-crypto-probe-'));
    const script = (await import(join(root, 'scripts', 'build.mjs'))) as { lazyBuiltins(): Plugin };
    // an AES256-CTS-HMAC-SHA1 encryption, its decryption, a checksum and a random key, then what
    // the process has loaded
    const probe = `
      import { encryptionType } from './src/krb5/crypto/index.ts';
      import { cryptoPrimitives, selectCryptoPrimitives } from './src/krb5/crypto/primitives.ts';
      if (process.argv[2] === 'node') selectCryptoPrimitives('node');
      const p = encryptionType(18);
      const key = p.randomKey();
      const c = p.encrypt(key, 11, Buffer.from('authenticator'));
      if (p.decrypt(key, 11, c).toString() !== 'authenticator') throw new Error('round trip');
      p.checksum(key, 6, Buffer.from('data'));
      const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
      console.log(JSON.stringify({ backend: cryptoPrimitives().name, crypto: loaded.includes('NativeModule crypto') }));
    `;
    const r = await build({
      stdin: { contents: probe, resolveDir: root, sourcefile: 'probe.ts', loader: 'ts' },
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      // as scripts/build.mjs binds it: the addon is looked for from src/os/ in the source tree
      define: { 'import.meta.dirname': JSON.stringify(join(root, 'src', 'os')) },
      plugins: [script.lazyBuiltins()],
    });
    bundle = join(dir, 'probe.cjs');
    writeFileSync(bundle, r.outputFiles[0]!.text);
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as { backend: string; crypto: boolean };
  };

  it('the native back end: no node:crypto', () => {
    expect(run()).toEqual({ backend: 'native', crypto: false });
  });

  it('the node back end loads it on first use (so the probe would see it)', () => {
    expect(run('node')).toEqual({ backend: 'node', crypto: true });
  });
});
