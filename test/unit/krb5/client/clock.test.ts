// The client's KDC clock (docs/kerberos.md#clock-offset): local time + the cache's KDC time offset, the
// correction a KRB_AP_ERR_SKEW's stime/susec gives, and the sync after an AS exchange.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KdcClock, describeDuration } from '../../../../src/krb5/client/clock.ts';
import { kdcNow } from '../../../../src/krb5/ccache/select.ts';

describe('KdcClock', () => {
  it('applies the offset in seconds and microseconds (negative microseconds too, as MIT stores them)', () => {
    const c = new KdcClock({ seconds: -3600, microseconds: -250_000 }, () => 1_800_000_000_100_000);
    expect(c.now()).toEqual({ time: new Date(1_799_996_399_000), usec: 850_000, seconds: 1_799_996_399 });
    expect(c.offsetSeconds).toBe(-3600.25);
  });

  it("agrees with the ccache module's kdcNow on whole seconds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000_000, max: 10_000_000 }),
        fc.integer({ min: -999_999, max: 999_999 }),
        fc.integer({ min: 1_000_000_000_000, max: 4_000_000_000_000 }),
        (seconds, microseconds, localMs) => {
          const c = new KdcClock({ seconds, microseconds }, () => localMs * 1000);
          const n = c.now();
          expect(n.usec).toBeGreaterThanOrEqual(0);
          expect(n.usec).toBeLessThan(1_000_000);
          expect(n.seconds * 1_000_000 + n.usec).toBe(localMs * 1000 + seconds * 1_000_000 + microseconds);
          expect(n.seconds).toBe(kdcNow({ seconds, microseconds }, localMs));
        },
      ),
    );
  });

  it("correct(): adopts the KDC's stime/susec and says how far off we were", () => {
    let local = 1_800_000_000_000_000;
    const c = new KdcClock({ seconds: -3600, microseconds: 0 }, () => local);
    const off = c.correct(new Date(1_800_000_002_000), 500_000);
    expect(off).toBeCloseTo(3602.5, 6);
    expect(c.corrected).toBe(true);
    local += 1_000_000;
    expect(c.now()).toEqual({ time: new Date(1_800_000_003_000), usec: 500_000, seconds: 1_800_000_003 });
    expect(c.offset).toEqual({ seconds: 2, microseconds: 500_000 });
  });

  it('syncTo(): the KDC time of an AS reply becomes the offset', () => {
    const c = new KdcClock(null, () => 1_800_000_000_400_000);
    c.syncTo(1_800_000_010);
    expect(c.offset).toEqual({ seconds: 9, microseconds: 600_000 });
    expect(c.now().seconds).toBe(1_800_000_010);
  });
});

describe('describeDuration', () => {
  it.each([
    [5, '5 s'],
    [-119, '119 s'],
    [600, '10 min'],
    [7200, '2 h'],
    [-7200, '2 h'],
    [3 * 86400, '3 days'],
  ])('%i → %s', (s, text) => {
    expect(describeDuration(s)).toBe(text);
  });
});
