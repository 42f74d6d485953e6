// What can be checked in-process without giving the test worker away: the bounding-set reader
// against the kernel's own report, and the mask format. The drop itself runs in the integration
// tests (chassis-privileges), inside a real upcall process.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatCapabilityMask, readBoundingSet } from '../../../src/os/privileges.ts';
import { correlationPrefix } from '../../../src/os/syslog.ts';

describe('privilege helpers', () => {
  it("reads this thread's bounding set exactly as /proc/thread-self/status shows it", () => {
    const status = readFileSync('/proc/thread-self/status', 'utf8');
    const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1];
    expect(formatCapabilityMask(readBoundingSet())).toBe(capBnd);
  });

  it('formats masks as 16 hex digits', () => {
    expect(formatCapabilityMask(0n)).toBe('0000000000000000');
    expect(formatCapabilityMask(0x1ffffffffffn)).toBe('000001ffffffffff');
  });

  it('prefixes syslog lines with the key serial', () => {
    expect(correlationPrefix(689819400)).toBe('[key 689819400] ');
    expect(correlationPrefix(undefined)).toBe('[replay] ');
  });
});
