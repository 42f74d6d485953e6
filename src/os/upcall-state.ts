// Where this process stands in the upcall's one-way sequence: host namespaces as root → (maybe)
// the caller's namespaces → the user's identity. The modules that must not run in the wrong phase
// ask here: passwd lookups refuse once a foreign namespace was entered (CVE-2026-12505: no NSS as
// root inside the caller's namespaces), and caller-file reads refuse before the privilege drop
// (nothing user-controlled is read as root). Process-wide on purpose: there is one upcall per process.

interface Phase {
  /** the pipeline armed the guards (tests that only use the helpers are not armed) */
  armed: boolean;
  foreignNamespacesEntered: string[];
  privilegesDropped: boolean;
}

const phase: Phase = { armed: false, foreignNamespacesEntered: [], privilegesDropped: false };

/** Called by the pipeline when an upcall starts: from now on the phase rules are enforced. */
export function armPhaseGuards(): void {
  phase.armed = true;
}

export function recordNamespaceEntered(type: string): void {
  phase.foreignNamespacesEntered.push(type);
}

export function recordPrivilegesDropped(): void {
  phase.privilegesDropped = true;
}

export function foreignNamespacesEntered(): readonly string[] {
  return phase.foreignNamespacesEntered;
}

export function privilegesDropped(): boolean {
  return phase.privilegesDropped;
}

/** True when user-controlled files may not be read yet (armed upcall, privileges still root's). */
export function callerReadsForbidden(): boolean {
  return phase.armed && !phase.privilegesDropped;
}
