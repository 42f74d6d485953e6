// Property tests for the description parsers: random valid descriptions
// round-trip through the kernel-style formatter; the strict parse agrees with the C reference on
// everything the kernel can produce; random garbage never throws anything but KeyDescriptionError
// (and the C reference never throws at all).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDescribeString,
  formatSpnegoDescription,
  KeyDescriptionError,
  parseSpnegoDescription,
  splitDescribeString,
  type SpnegoKeyDescription,
} from '../../../src/kernel/key-description.ts';
import { parseSpnegoDescriptionLikeC } from '../../reference/key-description-like-c.ts';

const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ldhLabel = fc.oneof(
  fc.constantFrom(...alnum),
  fc
    .tuple(fc.constantFrom(...alnum), fc.string({ unit: fc.constantFrom(...`${alnum}-`), maxLength: 20 }), fc.constantFrom(...alnum))
    .map(([a, mid, z]) => `${a}${mid}${z}`),
);
const hostName = fc.array(ldhLabel, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
const byte = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(byte, byte, byte, byte).map((b) => b.join('.'));
/** The kernel's %pI6: 8 groups of 4 lower-case hex digits. */
const ipv6Kernel = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16).padStart(4, '0')).join(':'));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const userChars = `${alnum}@.-_\\/ =$!#%&*+?~äöüßé`;
const userName = fc.string({ unit: fc.constantFrom(...userChars), minLength: 1, maxLength: 60 });
const unknownField = fc
  .tuple(
    fc
      .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'), minLength: 1, maxLength: 10 })
      .filter((n) => !['ver', 'host', 'ip4', 'ip6', 'sec', 'uid', 'creduid', 'user', 'pid', 'upcall_target'].includes(n)),
    fc.string({ unit: fc.constantFrom(...`${alnum}=.:`), maxLength: 10 }),
  )
  .map(([name, value]) => ({ name, value }));

const validDescription: fc.Arbitrary<SpnegoKeyDescription> = fc
  .record({
    version: fc.integer({ min: 0, max: 2 }),
    host: fc.oneof(hostName, ipv4),
    ip: fc.option(
      fc.oneof(
        ipv4.map((ip) => ({ ip, ipFamily: 4 as const })),
        ipv6Kernel.map((ip) => ({ ip, ipFamily: 6 as const })),
      ),
      { nil: undefined },
    ),
    sec: fc.constantFrom('krb5' as const, 'mskrb5' as const),
    uid: fc.option(u32, { nil: undefined }),
    creduid: fc.option(u32, { nil: undefined }),
    user: fc.option(userName, { nil: undefined }),
    pid: fc.integer({ min: 0, max: 0x7fffffff }),
    upcallTarget: fc.constantFrom('app' as const, 'mount' as const, 'unspecified' as const),
    unknownFields: fc.array(unknownField, { maxLength: 3 }),
  })
  .map(({ ip, ...rest }) => ({ ...rest, ...(ip ?? {}) }));

describe('key description properties', () => {
  it('a formatted valid description parses back to itself', () => {
    fc.assert(
      fc.property(validDescription, (d) => {
        expect(parseSpnegoDescription(formatSpnegoDescription(d))).toEqual(d);
      }),
      { numRuns: 2000 },
    );
  });

  it('the strict parse and the C reference agree on kernel-formatted descriptions', () => {
    fc.assert(
      fc.property(
        validDescription.map((d) => ({ ...d, unknownFields: [] })),
        (d) => {
          const text = `cifs.spnego;0;0;39010000;${formatSpnegoDescription(d)}`;
          const c = parseSpnegoDescriptionLikeC(text);
          expect(c.accepted).toBe(true);
          if (!c.accepted) return;
          const s = parseSpnegoDescription(splitDescribeString(text).description);
          expect({
            ver: c.decoded.ver,
            host: c.decoded.host,
            ip: c.decoded.ip,
            sec: c.decoded.sec,
            uid: c.decoded.uid,
            creduid: c.decoded.creduid,
            user: c.decoded.user,
            pid: c.decoded.pid,
            t: c.decoded.upcallTarget,
          }).toEqual({
            ver: s.version,
            host: s.host,
            ip: s.ip,
            sec: s.sec,
            uid: s.uid,
            creduid: s.creduid,
            user: s.user,
            pid: s.pid,
            t: s.upcallTarget,
          });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the describe header round-trips', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...`${alnum}._-`), minLength: 1, maxLength: 20 }),
        u32,
        u32,
        u32,
        fc.string({ maxLength: 200 }),
        (type, uid, gid, perm, description) => {
          const k = { type, uid, gid, perm, description };
          expect(splitDescribeString(formatDescribeString(k))).toEqual(k);
        },
      ),
      { numRuns: 1000 },
    );
  });

  const onlyOwnErrors = (run: () => unknown): void => {
    try {
      run();
    } catch (e) {
      if (!(e instanceof KeyDescriptionError)) throw e;
    }
  };

  it('random garbage throws nothing but KeyDescriptionError; the C reference never throws', () => {
    const garbage = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .array(
          fc.oneof(
            fc.constantFrom(
              'ver=',
              'host=',
              'ip4=',
              'ip6=',
              'sec=',
              'uid=',
              'creduid=',
              'user=',
              'pid=',
              'upcall_target=',
              '0x',
              ';',
              '=',
              '-',
              ':',
              '.',
            ),
            fc.string({ maxLength: 8 }),
          ),
          { maxLength: 40 },
        )
        .map((parts) => parts.join('')),
      // valid descriptions with random damage
      fc.tuple(validDescription, fc.nat(), fc.string({ maxLength: 5 })).map(([d, at, junk]) => {
        const s = formatSpnegoDescription(d);
        const i = at % (s.length + 1);
        return s.slice(0, i) + junk + s.slice(i + (at % 3));
      }),
    );
    fc.assert(
      fc.property(garbage, (text) => {
        onlyOwnErrors(() => parseSpnegoDescription(text));
        onlyOwnErrors(() => splitDescribeString(text));
        onlyOwnErrors(() => parseSpnegoDescription(splitDescribeString(`cifs.spnego;0;0;39010000;${text}`).description));
        parseSpnegoDescriptionLikeC(text);
      }),
      { numRuns: 5000 },
    );
  });
});
