// A connected-UDP socket for one exchange (KDC, DNS) without Node's cluster machinery.
//
// node:dgram binds every socket through `require('cluster')` (a worker must ask its primary for
// the port), which loads child_process and net as well: ~2-3 ms of CPU and ~1.6 MiB for one UDP
// exchange (docs/performance.md). The one bind that skips it is `socket.bind(handle)` with an
// already bound libuv UDP handle, so that is what we give it: a handle of Node's own udp_wrap
// binding, bound to the wildcard address and an ephemeral port as the implicit bind would be.
// `process.binding('udp_wrap')` is a deprecated accessor (DEP0111, documentation-only in Node
// 20); when it is missing or refuses, the socket is returned unbound and dgram binds it the
// usual way on connect(): the same socket, only the start-up cost differs.
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';

/** The part of udp_wrap's UDP handle used here (libuv's uv_udp_bind; 0 or a negative errno). */
interface UdpHandle {
  bind(address: string, port: number, flags: number): number;
  bind6(address: string, port: number, flags: number): number;
  connect(address: string, port: number): number;
  connect6(address: string, port: number): number;
  close(): void;
}

type UdpHandleClass = new () => UdpHandle;

let handleClass: UdpHandleClass | null | undefined;

function udpHandleClass(): UdpHandleClass | null {
  if (handleClass === undefined) {
    try {
      const binding = (process as unknown as { binding(name: string): { UDP?: unknown } }).binding('udp_wrap');
      handleClass = typeof binding.UDP === 'function' ? (binding.UDP as UdpHandleClass) : null;
    } catch {
      handleClass = null;
    }
  }
  return handleClass;
}

/** How the last socket was bound: for the test that keeps the fast path honest. */
export let lastUdpBind: 'handle' | 'dgram' | undefined;

/**
 * createSocket(options), already bound to an ephemeral port when the fast path is available.
 * Errors of the bind itself leave the socket to dgram's own bind (which reports them).
 */
export function createUdpSocket(options: SocketOptions): Socket {
  const socket = createSocket(options);
  const Handle = udpHandleClass();
  if (Handle) {
    const handle = new Handle();
    // dgram's own udp6 handles get connect6 as their connect; a handle given to bind() keeps its
    // own, so an IPv6 one is given it here (bind and send dgram copies over itself)
    if (options.type === 'udp6') handle.connect = handle.connect6;
    const status = options.type === 'udp6' ? handle.bind6('::', 0, 0) : handle.bind('0.0.0.0', 0, 0);
    if (status === 0) {
      // dgram takes a bound handle as it is: no cluster, listening at once
      socket.bind(handle as unknown as Parameters<Socket['bind']>[0]);
      lastUdpBind = 'handle';
      return socket;
    }
    handle.close();
  }
  lastUdpBind = 'dgram';
  return socket;
}
