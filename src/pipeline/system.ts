// The operating system as the pipeline sees it: every call that touches passwd, /proc, namespaces
// or privileges goes through this one interface, the way UpcallKey stands in for the key. The
// production implementation (`hostSystem`) is the real thing in src/os; unit tests hand the
// pipeline a scripted one (test/unit/pipeline/upcall.test.ts), so every step and refusal can be
// tested without root.
import { native } from '../os/native.ts';
import {
  enterNamespaces,
  inspectStayingNamespaces,
  openTargetNamespaces,
  type EnteredNamespaceType,
  type OpenedNamespaces,
  type StayingNamespace,
} from '../os/namespaces.ts';
import { lookupHostPasswd, type PasswdEntry } from '../os/passwd.ts';
import { dropPrivileges, type PrivilegeReport } from '../os/privileges.ts';
import {
  probeEnvironVariable,
  readProcessStat,
  referenceStartTime,
  type EnvironProbe,
  type ProcessStat,
  type ReferenceStartTime,
} from '../os/proc.ts';
import { armPhaseGuards } from '../os/upcall-state.ts';
import { readCallerUserNamespace, readThreadCredentials, type CallerUserNamespace, type ThreadCredentials } from '../os/user-namespace.ts';

export interface UpcallSystem {
  /** load what must come from the host's filesystem before any switch (addon, time zone) */
  prepare(): void;
  /** the phase guards of src/os/upcall-state.ts (no caller reads before the drop, …) */
  armPhaseGuards(): void;
  lookupPasswd(uid: number): PasswdEntry | null;
  readProcessStat(pid: number): ProcessStat | null;
  referenceStartTime(replay: boolean): ReferenceStartTime;
  readCallerUserNamespace(pid: number): CallerUserNamespace;
  readThreadCredentials(pid: number): ThreadCredentials | null;
  openTargetNamespaces(pid: number): OpenedNamespaces;
  inspectStayingNamespaces(pid: number): StayingNamespace[];
  enterNamespaces(opened: OpenedNamespaces): EnteredNamespaceType[];
  probeEnviron(pid: number, name: string): EnvironProbe;
  dropPrivileges(target: { uid: number; gid: number }): PrivilegeReport;
}

export const hostSystem: UpcallSystem = {
  prepare() {
    // The addon is loaded now, from the host's filesystem, never later.
    native();
    // So is the local time zone: V8/ICU read /etc/localtime on the first local-time Date use and
    // cache it; after setns that would be the caller's /etc/localtime, or a scan of its zoneinfo.
    new Date().getTimezoneOffset();
  },
  armPhaseGuards,
  lookupPasswd: lookupHostPasswd,
  readProcessStat,
  referenceStartTime,
  readCallerUserNamespace,
  readThreadCredentials,
  openTargetNamespaces,
  inspectStayingNamespaces,
  enterNamespaces,
  probeEnviron: probeEnvironVariable,
  dropPrivileges,
};
