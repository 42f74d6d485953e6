// The request-key line the installer and the Debian package write, shared with `cifs-upcall --help`
// so that what the help shows is what gets installed.
//
//   /etc/request-key.d/cifs-upcall.conf
//        create cifs.spnego ver=0x2;* * /usr/sbin/cifs-upcall %k
//
// request-key(8) takes the line whose wildcards skip the fewest characters; cifs-utils' own line
// has `*` for the description, ours `ver=0x2;*` (every kernel description starts so), so ours
// wins without touching cifs-utils' file, and removing ours restores cifs.upcall.

export const LAUNCHER_PATH = '/usr/sbin/cifs-upcall';
export const REQUEST_KEY_FILE = '/etc/request-key.d/cifs-upcall.conf';

export function requestKeyLine(keyType: string, launcher: string = LAUNCHER_PATH): string {
  // another key type (tests on kernels without cifs.ko) must be named to the bin, which refuses others
  const option = keyType === 'cifs.spnego' ? '' : ` --key-type ${keyType}`;
  return `create\t${keyType}\tver=0x2;*\t*\t${launcher}${option} %k\n`;
}
