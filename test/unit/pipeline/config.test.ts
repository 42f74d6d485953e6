// /etc/cifs-upcall.conf parsing and the per-server / per-cgroup merge.
import { describe, expect, it } from 'vitest';
import { ConfigError, globMatch, parseConfig, resolveSettings } from '../../../src/pipeline/config.ts';

const SAMPLE = `
# cifs-upcall test configuration
[global]
strategy = local-first
gssproxy_socket = /var/lib/gssproxy/cifs-upcall.sock   # dedicated socket
negative_timeout = 3

[cgroup /kubepods.slice/*]
gssproxy_socket = /var/lib/kubelet/gssproxy.sock

[server *.hpc.example.com]
strategy = proxy-only

[server FS9.Example.COM]
env_probe = no
`;

describe('config file', () => {
  const config = parseConfig(SAMPLE, '/etc/cifs-upcall.conf');

  it('global settings apply everywhere', () => {
    const settings = resolveSettings(config, { host: 'fs1.example.com' }, {});
    const { applied } = settings;
    expect(settings.strategy).toBe('local-first');
    expect(settings.gssproxySocket).toBe('/var/lib/gssproxy/cifs-upcall.sock');
    expect(settings.negativeTimeout).toBe(3);
    expect(settings.timeout).toBe(30);
    expect(applied).toEqual(['[global] (line 3)']);
  });

  it('server sections match host globs case-insensitively and beat cgroup sections', () => {
    const settings = resolveSettings(config, { host: 'n17.hpc.example.com', cgroup: '/kubepods.slice/pod-1/ctr' }, {});
    expect(settings.strategy).toBe('proxy-only');
    expect(settings.gssproxySocket).toBe('/var/lib/kubelet/gssproxy.sock');
    expect(resolveSettings(config, { host: 'fs9.example.com' }, {}).envProbe).toBe(false);
  });

  it('command-line overrides win', () => {
    const settings = resolveSettings(config, { host: 'n1.hpc.example.com' }, { strategy: 'compat', gssproxySocket: '/run/x.sock' });
    const { applied } = settings;
    expect(settings.strategy).toBe('compat');
    expect(applied.at(-1)).toBe('command line');
    expect(settings.gssproxySocketFrom).toBe('command line');
    expect(Object.isFrozen(settings)).toBe(true);
    expect(resolveSettings(config, { host: 'fs1.example.com' }, {}).gssproxySocketFrom).toBe('configuration');
  });

  it('rejects unknown settings and bad values with file:line', () => {
    expect(() => parseConfig('[global]\nstratgy = compat\n', '/x')).toThrow(/\/x:2: unknown setting "stratgy"/);
    expect(() => parseConfig('[global]\nstrategy = sometimes\n', '/x')).toThrow(ConfigError);
    expect(() => parseConfig('[global]\ntimeout = 0\n', '/x')).toThrow(/outside/);
    expect(() => parseConfig('strategy = compat\n', '/x')).toThrow(/outside a section/);
    expect(() => parseConfig('[server]\n', '/x')).toThrow(/needs a pattern/);
    expect(() => parseConfig('[global]\ngssproxy_socket = relative.sock\n', '/x')).toThrow(/absolute path/);
  });

  it('globs', () => {
    expect(globMatch('*.example.com', 'a.b.example.com')).toBe(true);
    expect(globMatch('fs?.example.com', 'fs1.example.com')).toBe(true);
    expect(globMatch('fs?.example.com', 'fs10.example.com')).toBe(false);
    expect(globMatch('a.b', 'axb')).toBe(false);
  });
});
