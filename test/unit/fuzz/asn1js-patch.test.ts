// The production bundle does not run asn1js's byte helpers as published: scripts/build.mjs
// (`fastByteViews`) puts an ArrayBuffer.isView fast path in front of @peculiar/utils'
// toUint8Array and toArrayBuffer. The unit tests import the published module, so they would not
// notice if the fast path answered differently; this property test builds the module both ways
// with esbuild (the same plugin the build uses) and shows both give equal results — same type,
// same bytes, a view of the same memory or a fresh copy exactly when the original gives one, the
// same error for what is not a buffer — over every kind of buffer source. (The fuzz campaign,
// scripts/fuzz.mjs, bundles with the same plugin, so the DER targets run the patched helpers.)
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const SOURCE = join(root, 'node_modules', '@peculiar', 'utils', 'build', 'bytes', 'buffer-source.js');

interface Helpers {
  toUint8Array(data: unknown): Uint8Array;
  toArrayBuffer(data: unknown): ArrayBuffer;
}

let dir: string;
let patched: Helpers;
let original: Helpers;
let patchedText: string;

async function load(name: string, plugins: Plugin[]): Promise<{ helpers: Helpers; text: string }> {
  const r = await build({
    entryPoints: [SOURCE],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'silent',
    plugins,
  });
  const text = r.outputFiles[0]!.text;
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, text);
  return { helpers: (await import(pathToFileURL(file).href)) as Helpers, text };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cifs-upcall-asn1js-patch-'));
  const script = (await import(join(root, 'scripts', 'build.mjs'))) as { fastByteViews(): Plugin };
  const p = await load('patched', [script.fastByteViews()]);
  patched = p.helpers;
  patchedText = p.text;
  original = (await load('original', [])).helpers;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every kind of BufferSource over some bytes, at an offset, plus non-buffers. */
const sources: fc.Arbitrary<{ what: string; value: unknown }> = fc
  .tuple(
    fc.uint8Array({ maxLength: 64 }),
    fc.nat(8),
    fc.nat(8),
    fc.constantFrom(
      'Uint8Array',
      'Buffer',
      'DataView',
      'Int16Array',
      'Uint32Array',
      'Float64Array',
      'Uint8ClampedArray',
      'ArrayBuffer',
      'SharedArrayBuffer',
      'not a buffer',
    ),
  )
  .map(([bytes, head, tail, kind]) => {
    const backing = new ArrayBuffer(head * 8 + bytes.length + tail * 8);
    new Uint8Array(backing).set(bytes, head * 8);
    const offset = head * 8;
    const length = bytes.length;
    switch (kind) {
      case 'Uint8Array':
        return { what: kind, value: new Uint8Array(backing, offset, length) };
      case 'Buffer':
        return { what: kind, value: Buffer.from(backing, offset, length) };
      case 'DataView':
        return { what: kind, value: new DataView(backing, offset, length) };
      case 'Int16Array':
        return { what: kind, value: new Int16Array(backing, offset, Math.floor(length / 2)) };
      case 'Uint32Array':
        return { what: kind, value: new Uint32Array(backing, offset, Math.floor(length / 4)) };
      case 'Float64Array':
        return { what: kind, value: new Float64Array(backing, offset, Math.floor(length / 8)) };
      case 'Uint8ClampedArray':
        return { what: kind, value: new Uint8ClampedArray(backing, offset, length) };
      case 'ArrayBuffer':
        return { what: kind, value: backing };
      case 'SharedArrayBuffer': {
        const shared = new SharedArrayBuffer(length);
        new Uint8Array(shared).set(bytes);
        return { what: kind, value: shared };
      }
      default:
        return { what: kind, value: [bytes.length, 'x', null, {}][head % 4] };
    }
  });

type Outcome = { threw: string } | { type: string; bytes: string; sameMemoryAsInput: boolean; isInput: boolean; byteOffset: number };

function outcome(fn: () => ArrayBuffer | Uint8Array, input: unknown): Outcome {
  let r: ArrayBuffer | Uint8Array;
  try {
    r = fn();
  } catch (e) {
    return { threw: `${(e as Error).name}: ${(e as Error).message}` };
  }
  const inputMemory = ArrayBuffer.isView(input) ? input.buffer : input;
  const memory = r instanceof Uint8Array ? r.buffer : r;
  return {
    type: Object.prototype.toString.call(r),
    bytes: Buffer.from(r instanceof Uint8Array ? r : new Uint8Array(r)).toString('hex'),
    sameMemoryAsInput: memory === inputMemory,
    isInput: (r as unknown) === input,
    byteOffset: r instanceof Uint8Array ? r.byteOffset : 0,
  };
}

describe("asn1js byte helpers: the production build's fast path against the published code", () => {
  it('the build really patched them (the fast path is in the patched module, not in the original)', () => {
    expect(patchedText).toContain('if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);');
    expect(patched.toUint8Array).not.toBe(original.toUint8Array);
  });

  it('toUint8Array: equal results for every kind of buffer source (and the same error for others)', () => {
    fc.assert(
      fc.property(sources, ({ value }) => {
        expect(outcome(() => patched.toUint8Array(value), value)).toEqual(outcome(() => original.toUint8Array(value), value));
      }),
      { numRuns: 2000 },
    );
  });

  it('toArrayBuffer: equal results — a fresh copy for a view, the same ArrayBuffer for an ArrayBuffer', () => {
    fc.assert(
      fc.property(sources, ({ value }) => {
        expect(outcome(() => patched.toArrayBuffer(value), value)).toEqual(outcome(() => original.toArrayBuffer(value), value));
      }),
      { numRuns: 2000 },
    );
  });
});
