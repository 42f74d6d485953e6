// The trace sinks: trace_file records carry their wall-clock time and label; trace_level =
// failures writes an upcall only when it failed; JSON records are one object per line.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeferredTrace, FileDescriptorTrace } from '../../../src/cli/trace-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'cu-trace-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function sink(name: string): { fd: number; read: () => string } {
  const path = join(dir, name);
  const fd = openSync(path, 'a');
  return { fd, read: () => readFileSync(path, 'utf8') };
}

describe('trace_file records', () => {
  it('text: "<ISO time> [key N] <ms> <area> <message>", held records with the time they happened', () => {
    const s = sink('text');
    const t = new DeferredTrace();
    const before = Date.now();
    t.event('cli', 'held before the configuration');
    t.attach(s.fd, 'text', { key: 689819400 });
    t.event('result', 'exit status 0');
    t.finish(0);
    closeSync(s.fd);
    const lines = s.read().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      const [time, label, ...rest] = l.split(' ');
      expect(time).toMatch(ISO);
      expect(Date.parse(time!)).toBeGreaterThanOrEqual(before - 1);
      expect(`${label} ${rest[0]}`).toBe('[key 689819400]');
    }
    expect(lines[0]).toMatch(/ms {2}cli {7}held before the configuration$/);
  });

  it('json: time, key, t, area, message in one object per line', () => {
    const s = sink('json');
    const t = new FileDescriptorTrace(s.fd, 'json', process.hrtime.bigint(), { replay: 42 });
    t.event('gssproxy', 'line one\nline two', { socket: '/s' });
    closeSync(s.fd);
    const rec = JSON.parse(s.read().trimEnd()) as Record<string, unknown>;
    expect(Object.keys(rec)).toEqual(['time', 'replay', 't', 'area', 'message', 'fields']);
    expect(rec['time']).toMatch(ISO);
    expect(rec).toMatchObject({ replay: 42, area: 'gssproxy', message: 'line one\nline two', fields: { socket: '/s' } });
  });

  it('--trace (no label) keeps its plain format', () => {
    const s = sink('plain');
    new FileDescriptorTrace(s.fd, 'text').event('cli', 'x');
    closeSync(s.fd);
    expect(s.read()).toMatch(/^ +\d+\.\d{3} ms {2}cli {7}x\n$/);
  });
});

describe('trace_level = failures', () => {
  it('a successful upcall writes nothing, a failed one everything (held from the start)', () => {
    const ok = sink('ok');
    const good = new DeferredTrace();
    good.event('cli', 'start');
    good.attach(ok.fd, 'text', { key: 1 }, true);
    good.event('result', 'exit status 0');
    good.finish(0);
    closeSync(ok.fd);
    expect(ok.read()).toBe('');

    const ko = sink('ko');
    const bad = new DeferredTrace();
    bad.event('cli', 'start');
    bad.attach(ko.fd, 'text', { key: 2 }, true);
    bad.event('result', 'exit status 8');
    bad.finish(8);
    closeSync(ko.fd);
    const lines = ko.read().trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/^\S+ \[key 2\] +[\d.]+ ms {2}/, ''))).toEqual(['cli       start', 'result    exit status 8']);
  });
});
