// fast-check generators for fuzzing parsers: random bytes/text, and seeds (captured or encoded
// valid inputs) with up to four structural mutations each — byte flips, "interesting" 8/16/32-bit
// values written over lengths and counts, truncation, insertion, deletion, duplication of a range,
// and splicing two seeds. Shared by the brief CI properties (test/unit/fuzz) and the long
// campaign (scripts/fuzz.mjs), so both explore the same input space.
import fc from 'fast-check';

/** Values that sit on the boundaries length and count checks get wrong. */
const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x88, 0xff];

type ByteMutation = (b: Buffer, seeds: readonly Buffer[]) => Buffer;

const pos = (n: number, length: number): number => (length === 0 ? 0 : n % length);

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(
    ([p, v]): ByteMutation =>
      (b) => {
        if (b.length === 0) return b;
        const out = Buffer.from(b);
        out[pos(p, b.length)] = v;
        return out;
      },
  ),
  fc.tuple(fc.nat(), fc.constantFrom(...INTERESTING_8)).map(
    ([p, v]): ByteMutation =>
      (b) => {
        if (b.length === 0) return b;
        const out = Buffer.from(b);
        out[pos(p, b.length)] = v;
        return out;
      },
  ),
  fc.tuple(fc.nat(), fc.constantFrom(...INTERESTING_32), fc.boolean(), fc.boolean()).map(
    ([p, v, big, wide]): ByteMutation =>
      (b) => {
        const width = wide ? 4 : 2;
        if (b.length < width) return b;
        const out = Buffer.from(b);
        const at = pos(p, b.length - width + 1);
        if (wide) big ? out.writeUInt32BE(v >>> 0, at) : out.writeUInt32LE(v >>> 0, at);
        else big ? out.writeUInt16BE(v & 0xffff, at) : out.writeUInt16LE(v & 0xffff, at);
        return out;
      },
  ),
  fc.nat().map(
    (p): ByteMutation =>
      (b) =>
        b.subarray(0, pos(p, b.length + 1)),
  ),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(
    ([p, ins]): ByteMutation =>
      (b) => {
        const at = pos(p, b.length + 1);
        return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
      },
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 32 })).map(
    ([p, n]): ByteMutation =>
      (b) => {
        const at = pos(p, b.length + 1);
        return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
      },
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 }), fc.nat()).map(
    ([p, n, q]): ByteMutation =>
      (b) => {
        const from = pos(p, b.length + 1);
        const range = b.subarray(from, from + n);
        const at = pos(q, b.length + 1);
        return Buffer.concat([b.subarray(0, at), range, b.subarray(at)]);
      },
  ),
  fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(
    ([s, p, q]): ByteMutation =>
      (b, seeds) => {
        const other = seeds[s % seeds.length]!;
        return Buffer.concat([b.subarray(0, pos(p, b.length + 1)), other.subarray(pos(q, other.length + 1))]);
      },
  ),
);

/** Seeds with 1–4 mutations, random bytes, and the seeds themselves. */
export function mutatedBytes(seeds: readonly Buffer[], maxRandom = 300): fc.Arbitrary<Buffer> {
  if (seeds.length === 0) throw new Error('mutatedBytes needs at least one seed');
  const seed = fc.nat({ max: seeds.length - 1 }).map((i) => seeds[i]!);
  const mutated = fc
    .tuple(seed, fc.array(byteMutation, { minLength: 1, maxLength: 4 }))
    .map(([s, ms]) => ms.reduce((b, m) => m(b, seeds), s));
  return fc.oneof(
    { weight: 14, arbitrary: mutated },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: maxRandom }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: seed },
  );
}

type TextMutation = (t: string, seeds: readonly string[], words: readonly string[]) => string;

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  // insert a dictionary word
  fc.tuple(fc.nat(), fc.nat()).map(
    ([p, w]): TextMutation =>
      (t, _s, words) => {
        const at = pos(p, t.length + 1);
        return t.slice(0, at) + words[w % words.length]! + t.slice(at);
      },
  ),
  // insert arbitrary characters (control characters, NUL, non-ASCII, lone surrogates)
  fc.tuple(fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 })).map(
    ([p, s]): TextMutation =>
      (t) => {
        const at = pos(p, t.length + 1);
        return t.slice(0, at) + s + t.slice(at);
      },
  ),
  // delete a range
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 24 })).map(
    ([p, n]): TextMutation =>
      (t) => {
        const at = pos(p, t.length + 1);
        return t.slice(0, at) + t.slice(at + n);
      },
  ),
  // truncate
  fc.nat().map(
    (p): TextMutation =>
      (t) =>
        t.slice(0, pos(p, t.length + 1)),
  ),
  // duplicate a range (repeated fields, repeated sections)
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 80 }), fc.nat()).map(
    ([p, n, q]): TextMutation =>
      (t) => {
        const from = pos(p, t.length + 1);
        const at = pos(q, t.length + 1);
        return t.slice(0, at) + t.slice(from, from + n) + t.slice(at);
      },
  ),
  // replace one character
  fc.tuple(fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })).map(
    ([p, c]): TextMutation =>
      (t) => {
        if (t.length === 0) return t;
        const at = pos(p, t.length);
        return t.slice(0, at) + c + t.slice(at + 1);
      },
  ),
  // splice with another seed
  fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(
    ([s, p, q]): TextMutation =>
      (t, seeds) => {
        const other = seeds[s % seeds.length]!;
        return t.slice(0, pos(p, t.length + 1)) + other.slice(pos(q, other.length + 1));
      },
  ),
);

/** Seeds with 1–6 text mutations, sequences of dictionary words, and random strings. */
export function mutatedText(seeds: readonly string[], words: readonly string[], maxRandom = 200): fc.Arbitrary<string> {
  if (seeds.length === 0 || words.length === 0) throw new Error('mutatedText needs seeds and words');
  const seed = fc.nat({ max: seeds.length - 1 }).map((i) => seeds[i]!);
  const mutated = fc
    .tuple(seed, fc.array(textMutation, { minLength: 1, maxLength: 6 }))
    .map(([s, ms]) => ms.reduce((t, m) => m(t, seeds, words), s));
  const wordSoup = fc.array(fc.nat({ max: words.length - 1 }), { maxLength: 30 }).map((ix) => ix.map((i) => words[i]).join(''));
  return fc.oneof(
    { weight: 12, arbitrary: mutated },
    { weight: 4, arbitrary: wordSoup },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: maxRandom }) },
    { weight: 1, arbitrary: seed },
  );
}
