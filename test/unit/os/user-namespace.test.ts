// uid_map/gid_map parsing and host → namespace translation (user_namespaces(7)); the maps below are
// what /proc/<pid>/uid_map shows to a reader in the init user namespace.
import { describe, expect, it } from 'vitest';
import { mapHostId, parseIdMap, UserNamespaceError } from '../../../src/os/user-namespace.ts';

describe('parseIdMap', () => {
  it("reads the kernel's right-aligned columns", () => {
    expect(parseIdMap('         0     100000      65536\n')).toEqual([{ inside: 0, outside: 100000, count: 65536 }]);
    expect(parseIdMap('         0          0 4294967295\n')).toEqual([{ inside: 0, outside: 0, count: 4294967295 }]);
  });

  it('an empty map (a namespace nobody wrote a map for) has no ranges', () => {
    expect(parseIdMap('')).toEqual([]);
  });

  it('refuses a line that is not three decimals, naming the line', () => {
    expect(() => parseIdMap('0 100000\n', '/proc/42/uid_map')).toThrow(UserNamespaceError);
    expect(() => parseIdMap('0 1 1\n0 x 1\n', '/proc/42/uid_map')).toThrow(/uid_map line 2/);
    expect(() => parseIdMap('0 1 99999999999\n')).toThrow(/2\^32-1|not/);
  });
});

describe('mapHostId', () => {
  const container = parseIdMap('0 100000 65536\n');
  it('translates a host id inside the range', () => {
    expect(mapHostId(container, 102002)).toEqual({ status: 'mapped', id: 2002 });
    expect(mapHostId(container, 100000)).toEqual({ status: 'mapped', id: 0 });
    expect(mapHostId(container, 165535)).toEqual({ status: 'mapped', id: 65535 });
  });

  it('host ids outside every range are unmapped (the range end is exclusive)', () => {
    expect(mapHostId(container, 2002)).toEqual({ status: 'unmapped' });
    expect(mapHostId(container, 165536)).toEqual({ status: 'unmapped' });
    expect(mapHostId(container, 99999)).toEqual({ status: 'unmapped' });
    expect(mapHostId([], 0)).toEqual({ status: 'unmapped' });
  });

  it('several ranges: each host id lands in its own', () => {
    const map = parseIdMap('0 1000 1\n1 100000 65535\n');
    expect(mapHostId(map, 1000)).toEqual({ status: 'mapped', id: 0 });
    expect(mapHostId(map, 100000)).toEqual({ status: 'mapped', id: 1 });
    expect(mapHostId(map, 100001)).toEqual({ status: 'mapped', id: 2 });
  });

  it('an id covered twice is ambiguous, with both candidates', () => {
    expect(mapHostId(parseIdMap('0 100000 10\n5 100000 10\n'), 100003)).toEqual({ status: 'ambiguous', ids: [3, 8] });
  });
});
