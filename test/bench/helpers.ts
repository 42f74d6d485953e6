// The two helpers under test, as jobs for runstat: ours exactly as request-key runs the installed
// bundle (the file itself is exec'd, its `#!<node> <option>` line picks the interpreter), with
// --replay instead of a key serial; Debian's cifs.upcall on a fake key through the keyutils
// LD_PRELOAD shim (test/harness/common/stock-upcall.ts, docs/test-environments.md#the-keyutils-shim), with the gssproxy
// interposer variables an administrator puts in its request-key line. Both get -k with the
// realm's krb5.conf and only HOME and PATH besides.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RealmEnv } from '../harness/realm/realm.ts';
import { STOCK_UPCALL } from '../harness/common/stock-upcall.ts';
import type { Job } from './runstat.ts';
import { HELPER_ENV, type Subject } from './world.ts';

export type Implementation = 'ours' | 'stock';

export interface OursSetup {
  /** argv prefix that starts our helper (the installed bundle, or node + options + bundle) */
  launcher: string[];
  config: string;
}

let counter = 0;

export interface PreparedRun {
  job: Job;
  /** did the helper produce a payload? (call after the job ran) */
  payload(): Buffer | null;
  cleanup(): void;
}

export function oursRun(env: RealmEnv, ours: OursSetup, s: Subject, scratch: string): PreparedRun {
  const out = join(scratch, `ours-payload-${process.pid}-${counter++}`);
  const log = `${out}.log`;
  rmSync(out, { force: true });
  return {
    job: {
      argv: [...ours.launcher, '--replay', s.description, '--config', ours.config, '-k', env.krb5Conf, '--payload-out', out],
      env: { ...HELPER_ENV },
      out: log,
    },
    payload: () => {
      if (!existsSync(out)) return null;
      const p = readFileSync(out);
      return p.length > 0 ? p : null;
    },
    cleanup: () => {
      rmSync(out, { force: true });
      rmSync(log, { force: true });
    },
  };
}

export function stockRun(env: RealmEnv, shim: string, s: Subject, scratch: string): PreparedRun {
  const out = join(scratch, `stock-keyshim-${process.pid}-${counter++}`);
  writeFileSync(out, '');
  chmodSync(out, 0o666); // cifs.upcall setuid()s to the user before instantiating
  return {
    job: {
      argv: [STOCK_UPCALL, '-k', env.krb5Conf, '4242'],
      env: {
        ...HELPER_ENV,
        GSS_USE_PROXY: 'yes',
        GSSPROXY_SOCKET: env.gssproxy.socket,
        GSSPROXY_BEHAVIOR: 'REMOTE_ONLY',
        LD_PRELOAD: shim,
        KEYSHIM_DESC: `cifs.spnego;0;0;39010000;${s.description}`,
        KEYSHIM_OUT: out,
      },
    },
    payload: () => {
      for (const line of readFileSync(out, 'utf8').split('\n')) {
        if (line.startsWith('instantiate ')) return Buffer.from(line.split(' ')[2] ?? '', 'hex');
      }
      return null;
    },
    cleanup: () => rmSync(out, { force: true }),
  };
}
