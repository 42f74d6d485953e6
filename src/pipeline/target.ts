// Where the upcall runs and whether it looks at the caller's environment (cifs.upcall 7.4+
// semantics; docs/cifs-upcall-behaviour.md#namespaces and #environment-probing):
//
//   upcall_target   pid    namespaces                          KRB5CCNAME probe
//   app / absent    pid    the triggering thread's             yes, unless uid 0 or -E
//   mount           pid    our own = the host's                no
//
// pid 0 and a vanished pid are refused before this plan is made (upcall.ts), as cifs.upcall 7.6 does.
import type { SpnegoKeyDescription } from '../kernel/key-description.ts';

export interface TargetPlan {
  /** 'caller': enter the namespaces of `pid`; 'own': stay where request-key started us */
  namespaces: 'caller' | 'own';
  namespaceReason: string;
  envProbe: boolean;
  envProbeReason: string;
  pid: number;
  /** the LOG_INFO line C writes for this decision */
  logLine: string;
}

export function planTarget(d: Pick<SpnegoKeyDescription, 'pid' | 'upcallTarget'>, options: { uid: number; envProbe: boolean }): TargetPlan {
  const target = d.upcallTarget === 'unspecified' ? 'app (absent: kernel before 6.13)' : d.upcallTarget;
  if (d.upcallTarget === 'mount') {
    return {
      namespaces: 'own',
      namespaceReason: "upcall_target=mount: credentials of the mount, resolved in the helper's own (host) namespaces",
      envProbe: false,
      envProbeReason: 'upcall_target=mount: the triggering process does not choose the credentials',
      pid: d.pid,
      logLine: 'upcall_target=mount, not switching namespaces to application thread',
    };
  }
  let envProbe = true;
  let envProbeReason = `uid ${options.uid} and upcall_target=${target}: read KRB5CCNAME from thread ${d.pid}`;
  if (!options.envProbe) {
    envProbe = false;
    envProbeReason = '-E/--no-env-probe given';
  } else if (options.uid === 0) {
    envProbe = false;
    envProbeReason = 'credential uid 0: root never takes KRB5CCNAME from the caller (as cifs.upcall)';
  }
  return {
    namespaces: 'caller',
    namespaceReason: `upcall_target=${target}: enter the namespaces of triggering thread ${d.pid}`,
    envProbe,
    envProbeReason,
    pid: d.pid,
    logLine: 'upcall_target=app, switching namespaces to application thread',
  };
}

/** Host part of cifs/<host>: the description's host, ASCII lower-cased (docs/cifs-upcall-behaviour.md#host-names-and-the-service-principal). */
export function servicePrincipalHost(host: string): string {
  return host.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
