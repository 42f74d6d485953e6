// What every measured upcall needs around it: the loopback realm, users in the three states the
// benchmark compares, their "application" processes (the pid= of the description, whose
// KRB5CCNAME both helpers read), the root-owned configuration, and the logs that show the KDC and
// gssproxy round trips.
//
//   a  valid cifs/fs1 ticket in the user's FILE cache (TGT + service ticket): no KDC traffic needed
//   b  TGT only: one TGS-REQ; a fresh copy of the cache before every run, so every run asks
//   c  no ticket at all (KRB5CCNAME names a cache that does not exist): gssproxy impersonation;
//      gssproxy's per-uid cache is cleared before every run, so every run is S4U2Self+S4U2Proxy
// Descriptions carry user=root as a multiuser mount's sessions do (mount.cifs adds it).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearGssproxyCache, kinit, runAs, userEnv, type RealmEnv, type RealmUser } from '../harness/realm/realm.ts';

export type UserState = 'a' | 'b' | 'c';

export const STATE_LABEL: Record<UserState, string> = {
  a: 'cifs/ ticket in the cache',
  b: 'TGT only (TGS per run)',
  c: 'no ticket: gssproxy S4U',
};

/** request-key gives its helpers exactly these two variables */
export const HELPER_ENV = { HOME: '/', PATH: '/sbin:/bin:/usr/sbin:/usr/bin' } as const;

export interface Subject {
  user: RealmUser;
  state: UserState;
  /** FILE cache the application's KRB5CCNAME names (absent for c) */
  cache: string;
  /** cache template copied to `cache` before each run (a, b) */
  template: string | null;
  app: ChildProcess;
  description: string;
}

export class World {
  private readonly apps: ChildProcess[] = [];
  readonly ticketDir: string;

  constructor(
    readonly env: RealmEnv,
    readonly scratch: string,
  ) {
    this.ticketDir = join(env.ccacheDir, 'bench');
    mkdirSync(this.ticketDir, { recursive: true, mode: 0o1777 });
    chmodSync(this.ticketDir, 0o1777);
  }

  /** A subject in a state: tickets obtained once with MIT's kinit/kvno (as the user), app started. */
  subject(user: RealmUser, state: UserState, tag: string = state): Subject {
    const cache = join(this.ticketDir, `${tag}_${user.name}`);
    let template: string | null = null;
    if (state !== 'c') {
      template = join(this.ticketDir, `template_${state}_${user.name}`);
      if (!existsSync(template)) {
        kinit(this.env, user, `FILE:${template}`);
        if (state === 'a') {
          runAs(user, '/usr/bin/kvno', ['cifs/fs1.example.test'], {
            env: userEnv(this.env, { KRB5CCNAME: `FILE:${template}` }),
          });
        }
      }
    }
    rmSync(cache, { force: true });
    const app = spawn('/bin/sleep', ['3600'], {
      uid: user.uid,
      gid: user.gid,
      env: { KRB5CCNAME: `FILE:${cache}` },
      stdio: 'ignore',
      detached: false,
    });
    if (app.pid === undefined) throw new Error(`cannot start the application process for ${user.name}`);
    this.apps.push(app);
    const id = `0x${user.uid.toString(16)}`;
    const description = `ver=0x2;host=fs1.example.test;ip4=127.0.0.1;sec=krb5;uid=${id};creduid=${id};user=root;pid=0x${app.pid.toString(16)};upcall_target=app`;
    return { user, state, cache, template, app, description };
  }

  /** Before every run: the state the subject must be in (fresh cache copy, cold gssproxy). */
  reset(s: Subject): void {
    if (s.template) {
      copyFileSync(s.template, s.cache);
      chownSync(s.cache, s.user.uid, s.user.gid);
      chmodSync(s.cache, 0o600);
    } else {
      rmSync(s.cache, { force: true });
    }
  }

  resetGssproxy(): void {
    clearGssproxyCache(this.env);
  }

  /** Our configuration file as the installer writes it, root-owned (local-first, the gssproxy socket). */
  writeConfig(): string {
    const path = join(this.scratch, 'cifs-upcall.conf');
    writeFileSync(path, `[global]\nstrategy = local-first\ngssproxy_socket = ${this.env.gssproxy.socket}\nnegative_timeout = 5\n`, {
      mode: 0o644,
    });
    return path;
  }

  stop(): void {
    for (const a of this.apps.splice(0)) a.kill('SIGKILL');
  }
}

/** Round trips seen in the daemons' logs between two marks. */
export interface RoundTrips {
  /** AS-REQ + TGS-REQ the KDC answered */
  kdc: number;
  asReq: number;
  tgsReq: number;
  /** connections gssproxy accepted */
  gssproxyConnections: number;
  /** RPCs gssproxy executed */
  gssproxyCalls: number;
  /** e.g. "GSSX_ACQUIRE_CRED+GSSX_INIT_SEC_CONTEXT" */
  gssproxyProcedures: string[];
}

export class LogWatch {
  private kdcMark = 0;
  private gpMark = 0;
  constructor(private readonly env: RealmEnv) {}

  private static size(path: string): number {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  }

  mark(): void {
    this.kdcMark = LogWatch.size(this.env.kdc.log);
    this.gpMark = LogWatch.size(this.env.gssproxy.log);
  }

  since(): RoundTrips {
    const kdc = readFileSync(this.env.kdc.log).subarray(this.kdcMark).toString('utf8');
    const gp = readFileSync(this.env.gssproxy.log).subarray(this.gpMark).toString('utf8');
    const asReq = (kdc.match(/\): AS_REQ \(/g) ?? []).length;
    const tgsReq = (kdc.match(/\): TGS_REQ \(/g) ?? []).length;
    const procedures = [...gp.matchAll(/gp_rpc_execute: executing \d+ \((\w+)\)/g)].map((m) => m[1]!);
    return {
      kdc: asReq + tgsReq,
      asReq,
      tgsReq,
      gssproxyConnections: (gp.match(/ connected \(fd = /g) ?? []).length,
      gssproxyCalls: procedures.length,
      gssproxyProcedures: procedures,
    };
  }
}
