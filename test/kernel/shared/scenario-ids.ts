// Scenario ids and titles, shared by the host runner (option check, table) and the guest.

export const SCENARIOS: Array<{ id: string; title: string }> = [
  { id: '1-machine-keytab', title: 'root mounts sec=krb5,multiuser from the machine keytab (user=)' },
  { id: '2-file-ccache', title: 'user with a TGT in a FILE cache reads and writes as himself' },
  { id: '3-impersonation', title: 'user without a ticket reads and writes through gssproxy S4U' },
  { id: '4-no-principal', title: 'user without a principal: EACCES, negative key, no second upcall' },
  { id: '4b-not-delegable', title: 'user not allowed to be delegated: EACCES' },
  { id: '5a-krb5i-signing', title: 'sec=krb5i mount: signed sessions for root, FILE-cache user, impersonated user' },
  { id: '5b-seal-encryption', title: 'sec=krb5,seal mount: encrypted sessions for the same three' },
  { id: '6-descriptions', title: "every key description has this kernel's shape (upcall_target on 6.12)" },
  { id: '8-forged-request', title: 'a non-root user requests a cifs.spnego key naming root: refused untouched, no ticket' },
  { id: '9a-userns-mapped', title: 'container uid 2002 (host 102002) with its own ccache reads the mount as its principal' },
  { id: '9b-userns-unmapped', title: 'a user in a user namespace without a map: refused, no ticket' },
  { id: '7-ad-dc-rbcd', title: "Samba AD DC's own smbd: machine-keytab mount, ticketless user by gssproxy RBCD" },
];

/** `--scenarios=4` selects 4 and 4b, `5` selects 5a and 5b, `4b` only 4b. */
export function scenarioSelected(wanted: string[], id: string): boolean {
  const number = id.split('-')[0];
  return wanted.length === 0 || wanted.some((w) => id === w || number.startsWith(w));
}
