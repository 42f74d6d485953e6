// --help text. cifs.upcall has none (it prints a one-line usage); the options keep its meanings.
import { EXIT_CODE_TABLE } from './exit-codes.ts';
import { DEFAULT_CONFIG_PATH, DEFAULT_DNS_EXPIRE_SECONDS } from './options.ts';
import { DEFAULT_SETTINGS, NEGATIVE_TIMEOUT_MAX, STRATEGIES } from '../pipeline/config.ts';
import { DEFAULT_KEY_TYPE } from '../pipeline/upcall.ts';
import { REQUEST_KEY_FILE, requestKeyLine } from '../install/request-key-line.ts';

export function usageLine(program: string): string {
  return `Usage: ${program} [options] <key_serial>    (or: ${program} --replay DESCRIPTION [options],
       ${program} --check-config [FILE], ${program} --doctor [--config FILE] [--json])`;
}

export function helpText(program: string): string {
  const exits = EXIT_CODE_TABLE.map((e) => `  ${String(e.code).padStart(2)}  ${e.meaning}`).join('\n');
  return `${usageLine(program)}

Answers a ${DEFAULT_KEY_TYPE} key request from the kernel's SMB client with a Kerberos SPNEGO token
and session key. A drop-in replacement for cifs.upcall; request-key runs it through the line
cifs-upcall-install and the package write to ${REQUEST_KEY_FILE}:
  ${requestKeyLine(DEFAULT_KEY_TYPE).trimEnd().replace(/\t/g, ' ')}
(more specific than cifs-utils' "create cifs.spnego * * /usr/sbin/cifs.upcall %k", so it wins;
removing it gives the kernel back to cifs.upcall).

cifs.upcall options (same meaning):
  -c                      ignored (legacy)
  -E, --no-env-probe      do not read KRB5CCNAME from the triggering process
  -k, --krb5conf=FILE     krb5.conf to use (sets KRB5_CONFIG)
  -K, --keytab=KEYTAB     keytab for the user= fallback of the mount's own session
  -l, --legacy-uid        use the description's uid= instead of creduid=
  -t, --trust-dns         allow one retry with the reverse-DNS name of the server address
  -e, --expire=SECONDS    timeout of dns_resolver keys (default ${DEFAULT_DNS_EXPIRE_SECONDS}; such keys are refused here)
  -v, --version           print "version: <version>" and exit

Additional options:
  -h, --help              this text
      --verbose           copy every syslog line to stderr
      --trace[=FILE]      step-by-step account of every decision (stderr without FILE)
      --trace-format=text|json   json: one object per line (default text)
      --replay=DESCRIPTION       run the whole upcall (namespaces, privileges, credentials) for
                          a description given here instead of a key: either the full
                          "type;uid;gid;perm;description" form of keyctl rdescribe or just the
                          description ("ver=0x2;host=…"); writes the payload instead of
                          instantiating a key
      --pid=PID           replay: a live process of the credential user stands for the
                          description's pid (a description from syslog names one that exited)
      --key-owner=UID:GID owner of the replayed key (default 0:0; others are refused, as forged)
      --payload-out=FILE  replay: write the payload bytes to FILE (default: hex on stdout)
      --key-type=TYPE     serve keys of TYPE instead of ${DEFAULT_KEY_TYPE} (tests use "user")
      --config=FILE       configuration file (default ${DEFAULT_CONFIG_PATH})
      --negative-timeout=SECONDS  how long a failed key stays negative, 0 to ${NEGATIVE_TIMEOUT_MAX}
                          (default ${DEFAULT_SETTINGS.negativeTimeout}; as negative_timeout in the file)
      --gssproxy-socket=PATH      gssproxy socket for impersonation (absolute path)
      --strategy=NAME     credential strategy: ${STRATEGIES.join(', ')}
      --check-config[=FILE]       validate the configuration (FILE, or --config, or
                          ${DEFAULT_CONFIG_PATH}) without running an upcall; each problem is
                          printed as FILE:LINE: what is wrong
      --doctor            check this host's set-up (configuration, request-key line, addon,
                          krb5.conf and KDC, keytab, gssproxy, cifs.ko), one line per check with
                          the fix; changes nothing; --json for one JSON object per check
      --train-code-cache  rewrite the code cache beside the installed bundle, trained on
                          the upcall's paths against a made-up realm (the package's
                          post-install step runs it; needed after a node upgrade)

Differences from cifs.upcall: the key serial must be a plain decimal number; -e must be a
number; keys not owned by 0:0 are refused; a failed upcall negates the key for a short time,
prints its one-line cause on stderr and never exits 0. --replay must run as root.

Logging: syslog, ident "cifs.upcall", facility daemon; every line starts with the key serial.

Exit status:
${exits}
`;
}
