// Findings of the fuzz campaign (npm run fuzz, docs/fuzz-report.md), each kept as a regression
// input with the bound it broke.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch, parseConfig, resolveSettings } from '../../../src/pipeline/config.ts';

/** The glob semantics the matcher must keep: the regular expression the first version built. */
function globByRegExp(pattern: string, text: string): boolean {
  let re = '^';
  for (const c of pattern) {
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's').test(text);
}

describe('cifs-upcall.conf: [server]/[cgroup] glob matching (campaign seed 20260501)', () => {
  // Hangs found in the cifs-upcall.conf target (chunks 6, 11, 16): the first globMatch compiled
  // "*" to ".*" in a RegExp, which backtracks exponentially when many stars meet a long host
  // (a host of up to 1024 bytes comes from the kernel, and from a DFS referral).
  const found = [
    { text: '[server *a*a*a*a*a*a*a*a*a*a*a*btimeoutcompat=strategy]', host: 'a'.repeat(1024) },
    { text: '[global]\nstrategy = proxy-only\n[cgroup /s*?*?*?*?*?*?*?*?ystem.slice/*]\nenv_probe = no\n', host: 'a'.repeat(1024) },
    { text: '[cgroup *?*?*?*?*?*?*?*?*a*a*a*a*a*a*a*a*a*a*a*b]\n', host: 'a'.repeat(1024) },
  ];
  for (const [i, f] of found.entries()) {
    it(`finding ${i + 1}: matching ends within 50 ms`, () => {
      const t0 = performance.now();
      const config = parseConfig(f.text, '/etc/cifs-upcall.conf');
      resolveSettings(config, { host: f.host, cgroup: `/system.slice/${f.host}` }, {});
      expect(performance.now() - t0).toBeLessThan(50);
    });
  }

  it('the worst case of the new matcher is bounded: 200 stars against 1024 bytes', () => {
    const t0 = performance.now();
    expect(globMatch(`${'*a'.repeat(100)}*b`, 'a'.repeat(1024))).toBe(false);
    expect(globMatch(`${'*?'.repeat(100)}*`, 'a'.repeat(1024))).toBe(true);
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('the matcher agrees with the RegExp semantics on short inputs (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '.', '*', '?', '\\', '[', 'é', '\n');
    const text = fc.array(fc.constantFrom('a', 'b', '.', '*', '?', 'é', '\n'), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 8 }).map((a) => a.join('')),
        text,
        (p, t) => {
          expect(globMatch(p, t)).toBe(globByRegExp(p, t));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
