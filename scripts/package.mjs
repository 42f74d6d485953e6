// npm run package: the Debian package dist/pkg/cifs-upcall_<version>_amd64.deb, built with
// dpkg-deb from the production bundle.
//
//   1. scripts/build.mjs into dist/pkg/build: the bundle, its loader and the native addon.
//      The addon is an N-API module (native/binding.gyp: NAPI_VERSION=8), so its ABI is the
//      N-API version, not a Node release: any nodejs >= 20 loads it. The V8 code cache is tied
//      to the exact node build, so it is not shipped: postinst makes it with the installed node
//      (`cifs-upcall --train-code-cache`, as py3compile makes .pyc files) and prerm removes it.
//      Without one the helper compiles from source (a slower start, nothing else), which
//      `cifs-upcall --doctor` reports.
//   2. cifs-upcall-install --root <staging> lays the files out exactly as the installer would
//      (same first line, same paths, same default configuration), without its manifest: dpkg
//      is the manifest here.
//   3. Packaging specifics: the request-key line is not shipped in /etc (it is not the admin's
//      to edit, and a conffile would survive `dpkg -r` and keep pointing at a removed helper):
//      it ships as /usr/share/cifs-upcall/request-key.conf, postinst installs it after checking
//      that the helper starts, prerm/postrm remove it, so cifs.upcall serves the kernel again.
//      /etc/cifs-upcall.conf and /etc/logrotate.d/cifs-upcall are conffiles (dpkg -P removes
//      them). The impersonating gssproxy service ships inert in /usr/share/cifs-upcall/ (opt-in,
//      cifs-upcall(8) ENABLING IMPERSONATION). The man page is gzipped, as Debian policy wants.
//
//   node scripts/package.mjs [--outdir DIR]     (default dist/pkg)
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const NAME = 'cifs-upcall';
const MAINTAINER = 'cifs-upcall developers <cifs-upcall@example.org>';

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return r.stdout;
}

function walk(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function gz(text) {
  // -9n: no name, no time stamp (reproducible, what lintian expects)
  return gzipSync(Buffer.from(text), { level: 9 });
}

function debianDate() {
  // RFC 5322 date as Debian changelogs carry it, from the source tree's own time (reproducible)
  const t = new Date(statSync(join(root, 'package.json')).mtimeMs);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n) => String(n).padStart(2, '0');
  return `${days[t.getUTCDay()]}, ${p(t.getUTCDate())} ${months[t.getUTCMonth()]} ${t.getUTCFullYear()} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000`;
}

const POSTINST = `#!/bin/sh
# cifs-upcall postinst: check that the installed helper starts, then hand cifs.spnego keys to it.
set -e
if [ "$1" = configure ]; then
    if ! out=$(cifs-upcall --version 2>&1); then
        echo "cifs-upcall: the installed /usr/sbin/cifs-upcall does not start:" >&2
        echo "$out" >&2
        echo "cifs-upcall: request-key is left to cifs.upcall; check that nodejs (>= 20) is /usr/bin/node" >&2
        rm -f /etc/request-key.d/cifs-upcall.conf
        exit 1
    fi
    # the V8 code cache, made by the installed node (a slower start without it, nothing else)
    if ! trained=$(cifs-upcall --train-code-cache 2>&1); then
        echo "cifs-upcall: no code cache (every upcall compiles its code: a slower start):" >&2
        echo "$trained" >&2
    fi
    mkdir -p /etc/request-key.d
    cp /usr/share/cifs-upcall/request-key.conf /etc/request-key.d/cifs-upcall.conf.dpkg-tmp
    chmod 0644 /etc/request-key.d/cifs-upcall.conf.dpkg-tmp
    mv -f /etc/request-key.d/cifs-upcall.conf.dpkg-tmp /etc/request-key.d/cifs-upcall.conf
    echo "cifs-upcall: /usr/sbin/cifs-upcall starts ($out); request-key now runs it for cifs.spnego keys"
    echo "cifs-upcall: (/etc/request-key.d/cifs-upcall.conf; removing the package gives them back to cifs.upcall)"
    echo "next steps:"
    echo "  cifs-upcall --check-config    validate /etc/cifs-upcall.conf"
    echo "  cifs-upcall --doctor          check request-key, krb5.conf, the KDC, the keytab, gssproxy and cifs.ko"
    echo "  impersonation of users without a ticket is off; to enable it (cifs-upcall(8), ENABLING IMPERSONATION):"
    echo "    1. cp /usr/share/cifs-upcall/gssproxy-impersonation.conf /etc/gssproxy/80-cifs-upcall.conf"
    echo "       and systemctl reload gssproxy"
    echo "    2. strategy = local-first in /etc/cifs-upcall.conf"
fi
exit 0
`;

// the line goes before the helper does, so request-key never runs a removed program
const PRERM = `#!/bin/sh
# cifs-upcall prerm: give cifs.spnego keys back to cifs.upcall before the helper is removed.
set -e
case "$1" in
    remove|deconfigure)
        rm -f /etc/request-key.d/cifs-upcall.conf
        ;;
esac
# the code cache postinst made (not a packaged file); an upgrade's postinst makes a new one
case "$1" in
    remove|deconfigure|upgrade)
        rm -f /usr/lib/cifs-upcall/cifs-upcall-bundle.blob /usr/lib/cifs-upcall/cifs-upcall-bundle.blob.*.tmp
        ;;
esac
exit 0
`;

const POSTRM = `#!/bin/sh
# cifs-upcall postrm: the request-key line is gone after remove; purge also drops the default trace
# file (dpkg removes the conffiles /etc/cifs-upcall.conf and /etc/logrotate.d/cifs-upcall).
set -e
case "$1" in
    remove|purge|abort-install)
        rm -f /etc/request-key.d/cifs-upcall.conf /etc/request-key.d/cifs-upcall.conf.dpkg-tmp
        ;;
esac
if [ "$1" = purge ]; then
    rm -f /var/log/cifs-upcall.trace /var/log/cifs-upcall.trace.1 /var/log/cifs-upcall.trace.*.gz
fi
exit 0
`;

function copyright() {
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: cifs-upcall
Comment: The program is one bundled file. Besides cifs-upcall's own code it contains asn1js
 and @peculiar/utils (listed below); the native addon is compiled with the node-addon-api
 headers. The gssproxy protocol definitions it follows are described in its documentation.

Files: *
Copyright: 2026 cifs-upcall developers
License: GPL-3+

Files: usr/lib/cifs-upcall/cifs-upcall-bundle.cjs
Copyright: 2026 cifs-upcall developers
 2014 Peculiar Ventures, LLC (asn1js, @peculiar/utils)
License: GPL-3+ and BSD-3-clause and Expat

Files: usr/lib/cifs-upcall/cifs_upcall_native.node
Copyright: 2026 cifs-upcall developers
 2017 Node.js API collaborators (node-addon-api headers)
License: GPL-3+ and Expat

License: GPL-3+
 This program is free software: you can redistribute it and/or modify it under the terms of
 the GNU General Public License as published by the Free Software Foundation, either version 3
 of the License, or (at your option) any later version.
 .
 On Debian systems, the complete text of the GNU General Public License version 3 can be found
 in "/usr/share/common-licenses/GPL-3".

License: BSD-3-clause
 Redistribution and use in source and binary forms, with or without modification, are
 permitted provided that the following conditions are met:
 1. Redistributions of source code must retain the above copyright notice, this list of
    conditions and the following disclaimer.
 2. Redistributions in binary form must reproduce the above copyright notice, this list of
    conditions and the following disclaimer in the documentation and/or other materials
    provided with the distribution.
 3. Neither the name of the copyright holder nor the names of its contributors may be used to
    endorse or promote products derived from this software without specific prior written
    permission.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
 IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY
 AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
 CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
 SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
 THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR
 OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 POSSIBILITY OF SUCH DAMAGE.

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;
}

/**
 * Depends for the addon's shared libraries: libc6 at the newest GLIBC_ symbol version it uses
 * (what dpkg-shlibdeps would compute from the symbols file), libstdc++6 if it is linked.
 */
function sharedLibraryDepends(file) {
  const needed = run('readelf', ['-d', file]);
  const versions = [...run('objdump', ['-T', file]).matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]);
  const newest = versions
    .sort((a, b) => {
      const x = a.split('.').map(Number);
      const y = b.split('.').map(Number);
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    })
    .at(-1);
  const deps = [];
  if (needed.includes('[libc.so.6]')) deps.push(newest ? `libc6 (>= ${newest})` : 'libc6');
  if (needed.includes('[libstdc++.so.6]')) deps.push('libstdc++6');
  return deps.join(', ');
}

export function buildPackage(outdir = join(root, 'dist', 'pkg')) {
  const version = pkg.version;
  const work = join(outdir, 'work');
  const build = join(work, 'build');
  const stage = join(work, 'root');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });

  // 1. the production bundle, its code cache and the addon
  run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', build], { cwd: root });
  const node = '/usr/bin/node';
  if (!existsSync(node)) throw new Error(`${node} not found: the package's first line names it (Depends: nodejs)`);

  // 2. the installer's layout in a staging root (default options: the safe default)
  run(process.execPath, [join(build, 'cifs-upcall-install.mjs'), '--root', stage, '--dist', build, '--node', node, '--gssproxy', 'no'], {
    cwd: root,
  });
  rmSync(join(stage, 'var', 'lib', 'cifs-upcall'), { recursive: true, force: true });
  // the code cache is made on the target by postinst (see 1.)
  rmSync(join(stage, 'usr', 'lib', NAME, 'cifs-upcall-bundle.blob'), { force: true });

  // 3. packaging specifics
  const share = join(stage, 'usr', 'share', NAME);
  mkdirSync(share, { recursive: true });
  renameSync(join(stage, 'etc', 'request-key.d', 'cifs-upcall.conf'), join(share, 'request-key.conf'));
  rmSync(join(stage, 'etc', 'request-key.d'), { recursive: true });
  const man = join(stage, 'usr', 'share', 'man', 'man8');
  mkdirSync(man, { recursive: true });
  writeFileSync(join(man, 'cifs-upcall.8.gz'), gz(readFileSync(join(root, 'docs', 'cifs-upcall.8'), 'utf8')));
  rmSync(join(man, 'cifs-upcall.8'), { force: true });
  const doc = join(stage, 'usr', 'share', 'doc', NAME);
  mkdirSync(doc, { recursive: true });
  writeFileSync(join(doc, 'copyright'), copyright());
  // the #! line runs /usr/bin/env -S to drop NODE_OPTIONS and friends before node starts
  // (src/install/installer.ts launcherLine): deliberate, so the warning is overridden
  const overrides = join(stage, 'usr', 'share', 'lintian', 'overrides');
  mkdirSync(overrides, { recursive: true });
  writeFileSync(
    join(overrides, NAME),
    `# env -S scrubs the variables node acts on before any code runs (see cifs-upcall(8) FILES)\n${NAME}: unusual-interpreter -S [usr/lib/cifs-upcall/cifs-upcall.mjs]\n`,
  );
  writeFileSync(
    join(doc, 'changelog.gz'),
    gz(`${NAME} (${version}) unstable; urgency=medium\n\n  * Release ${version}.\n\n -- ${MAINTAINER}  ${debianDate()}\n`),
  );
  // the addon: stripped as Debian ships shared objects; its libc/libstdc++ needs become Depends
  const addon = join(stage, 'usr', 'lib', NAME, 'cifs_upcall_native.node');
  run('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', addon]);
  const libDepends = sharedLibraryDepends(addon);
  // within /usr a relative link (Debian policy 10.5); node resolves it to the bundle's directory
  const launcher = join(stage, 'usr', 'sbin', NAME);
  rmSync(launcher);
  symlinkSync('../lib/cifs-upcall/cifs-upcall.mjs', launcher);
  // ownership is root's (dpkg-deb --root-owner-group); modes as Debian policy wants
  for (const f of walk(stage)) {
    const rel = `/${relative(stage, f)}`;
    const mode = rel === '/usr/lib/cifs-upcall/cifs-upcall.mjs' ? 0o755 : 0o644;
    if (!lstatSync(f).isSymbolicLink()) chmodSync(f, mode);
  }

  const control = join(stage, 'DEBIAN');
  mkdirSync(control, { recursive: true });
  const installedKb = Number(run('du', ['-s', '-k', '--exclude=DEBIAN', stage]).split(/\s/)[0]);
  writeFileSync(
    join(control, 'control'),
    `Package: ${NAME}
Version: ${version}
Architecture: amd64
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKb}
Depends: nodejs (>= 20), keyutils, gssproxy, ${libDepends}
Suggests: cifs-utils
Section: admin
Priority: optional
Homepage: https://github.com/cifs-upcall/cifs-upcall
Description: Kerberos credentials for the Linux SMB client (cifs.upcall replacement)
 A drop-in replacement for cifs-utils' cifs.upcall, the helper the kernel's SMB
 client runs through request-key whenever it needs Kerberos credentials for a
 user and a server. It uses the user's own ticket (a Kerberos initiator in
 TypeScript, no libkrb5) or asks gssproxy directly, which can impersonate users
 who have no ticket (opt-in). Installing it hands cifs.spnego keys to
 /usr/sbin/cifs-upcall through a more specific request-key line; removing it
 gives them back to cifs.upcall.
`,
  );
  writeFileSync(join(control, 'conffiles'), '/etc/cifs-upcall.conf\n/etc/logrotate.d/cifs-upcall\n');
  for (const [name, text] of [
    ['postinst', POSTINST],
    ['prerm', PRERM],
    ['postrm', POSTRM],
  ]) {
    writeFileSync(join(control, name), text);
    chmodSync(join(control, name), 0o755);
  }
  const sums = walk(stage)
    .filter((f) => !f.startsWith(control + '/') && !relative(stage, f).startsWith('etc/') && !lstatSync(f).isSymbolicLink())
    .sort()
    .map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(stage, f)}`);
  writeFileSync(join(control, 'md5sums'), sums.join('\n') + '\n');
  chmodSync(join(control, 'md5sums'), 0o644);
  chmodSync(join(control, 'control'), 0o644);
  chmodSync(join(control, 'conffiles'), 0o644);
  // directories 0755
  run('find', [stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);

  const deb = join(outdir, `${NAME}_${version}_amd64.deb`);
  rmSync(deb, { force: true });
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb]);
  rmSync(work, { recursive: true, force: true });
  return deb;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(root, 'dist', 'pkg'));
  mkdirSync(outdir, { recursive: true });
  const deb = buildPackage(outdir);
  console.log(`built ${deb}`);
  console.log(
    run('dpkg-deb', ['--info', deb])
      .split('\n')
      .filter((l) => /Package|Version|Architecture|Depends|Suggests/.test(l))
      .join('\n'),
  );
}
