// Socket selection order (docs/gssproxy-protocol.md#socket): --gssproxy-socket,
// then the configuration file, then GSSPROXY_SOCKET, then /var/lib/gssproxy/default.sock.
import { describe, expect, it } from 'vitest';
import { DEFAULT_GSSPROXY_SOCKET, GssproxySocketPathError, resolveGssproxySocket } from '../../../src/gssproxy/socket-path.ts';

describe('resolveGssproxySocket', () => {
  const env = { GSSPROXY_SOCKET: '/run/env.sock' };

  it('the option beats everything', () => {
    expect(resolveGssproxySocket({ option: '/run/opt.sock', config: '/run/conf.sock', env })).toEqual({
      path: '/run/opt.sock',
      origin: 'option',
      skipped: [],
    });
  });

  it('then the configuration file', () => {
    expect(resolveGssproxySocket({ config: '/run/conf.sock', env })).toMatchObject({ path: '/run/conf.sock', origin: 'config' });
  });

  it('then GSSPROXY_SOCKET', () => {
    expect(resolveGssproxySocket({ env })).toMatchObject({ path: '/run/env.sock', origin: 'env' });
  });

  it('then the compiled default', () => {
    expect(DEFAULT_GSSPROXY_SOCKET).toBe('/var/lib/gssproxy/default.sock');
    expect(resolveGssproxySocket({ env: {} })).toMatchObject({ path: DEFAULT_GSSPROXY_SOCKET, origin: 'default' });
  });

  it('empty values count as unset', () => {
    expect(resolveGssproxySocket({ option: '', config: '', env: { GSSPROXY_SOCKET: '' } }).origin).toBe('default');
  });

  it('a relative GSSPROXY_SOCKET is skipped with a reason; a relative option or setting is an error', () => {
    const r = resolveGssproxySocket({ env: { GSSPROXY_SOCKET: 'gp.sock' } });
    expect(r.origin).toBe('default');
    expect(r.skipped[0]).toMatch(/not an absolute path/);
    expect(() => resolveGssproxySocket({ option: 'gp.sock' })).toThrow(GssproxySocketPathError);
    expect(() => resolveGssproxySocket({ config: './gp.sock' })).toThrow(/gssproxy_socket/);
  });

  it("reads this process's environment when none is given", () => {
    const saved = process.env.GSSPROXY_SOCKET;
    process.env.GSSPROXY_SOCKET = '/run/from-process.sock';
    try {
      expect(resolveGssproxySocket().path).toBe('/run/from-process.sock');
    } finally {
      if (saved === undefined) delete process.env.GSSPROXY_SOCKET;
      else process.env.GSSPROXY_SOCKET = saved;
    }
  });
});
