// The stand-in credential source (tests only; never part of the production bundle). It answers
// every request with a fixed token (a placeholder AP-REQ in an RFC 2743 frame,
// docs/kerberos.md#spnego-test-vector) and session key 000102…0f, so the payload of a sec=krb5
// upcall is exactly the 97 bytes of docs/kernel-key-protocol.md#example-payload.
// Before answering it reports, through the trace, what the pipeline gave it to see:
//   * /proc/self/status and /proc/thread-self/status (uid, gid, groups, capabilities) as read from
//     inside the credential-source phase, i.e. after the namespace switch and privilege drop;
//   * whether the probed KRB5CCNAME file is visible, and its first bytes;
//   * whether each path of CIFS_UPCALL_STANDIN_PROBE (colon-separated) is visible;
//   * the host name (uname on the main thread: UTS namespace) and the network interfaces of the
//     main thread's network namespace (/proc/thread-self/net/dev).
// A host name starting with "fail-" makes it fail with "no-credentials".
import { CredentialError, type CredentialRequest, type CredentialSource, type InitiatorToken } from '../../../src/credentials.ts';
import { hostname } from 'node:os';
import { CallerFileError, readCallerFile, readCallerFileIfExists } from '../../../src/os/caller-fs.ts';

/** docs/kerberos.md#spnego-test-vector: 60 1a 06 09 <krb5 OID> 01 00 <13-byte placeholder AP-REQ>. */
export const STANDIN_GSS_TOKEN = Buffer.from('601a06092a864886f71201020201006e0a30083006a0030201059f00', 'hex');
export const STANDIN_SESSION_KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

export interface StatusView {
  uid: string;
  gid: string;
  groups: string;
  capEff: string;
  capPrm: string;
  capInh: string;
  capBnd: string;
  capAmb: string;
  noNewPrivs: string;
}

export function parseStatus(text: string): StatusView {
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text);
    return m ? (m[1] as string).trim().replace(/\s+/g, ' ') : '';
  };
  return {
    uid: field('Uid'),
    gid: field('Gid'),
    groups: field('Groups'),
    capEff: field('CapEff'),
    capPrm: field('CapPrm'),
    capInh: field('CapInh'),
    capBnd: field('CapBnd'),
    capAmb: field('CapAmb'),
    noNewPrivs: field('NoNewPrivs'),
  };
}

function ccachePath(name: string): string | null {
  if (name.startsWith('FILE:')) return name.slice(5);
  if (name.startsWith('/')) return name;
  return null;
}

export class StandInSource implements CredentialSource {
  readonly name = 'stand-in';

  constructor(private readonly probePaths: readonly string[] = []) {}

  async acquire(request: CredentialRequest): Promise<InitiatorToken> {
    const { trace } = request;
    for (const [label, path] of [
      ['process', '/proc/self/status'],
      ['main thread', '/proc/thread-self/status'],
    ] as const) {
      const s = parseStatus(readCallerFile(path, { maxBytes: 65536 }).toString('utf8'));
      trace.event(
        'identity',
        `stand-in: ${label} status: Uid ${s.uid}, Gid ${s.gid}, Groups [${s.groups}], CapEff ${s.capEff}, CapPrm ${s.capPrm}, CapBnd ${s.capBnd}`,
        {
          view: label,
          ...s,
        },
      );
    }
    const interfaces = readCallerFile('/proc/thread-self/net/dev', { maxBytes: 65536 })
      .toString('utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((n) => n !== '');
    trace.event('identity', `stand-in: host name ${hostname()}, network interfaces ${interfaces.join(',')}`, {
      hostname: hostname(),
      interfaces,
    });
    if (request.probedCcacheName !== undefined) {
      const path = ccachePath(request.probedCcacheName);
      const content = path === null ? null : readCallerFileIfExists(path, { maxBytes: 4096 });
      trace.event(
        'ccache',
        content === null
          ? `stand-in: probed ccache ${request.probedCcacheName} not visible`
          : `stand-in: probed ccache ${request.probedCcacheName} visible: ${JSON.stringify(content.toString('utf8').slice(0, 64))}`,
        {
          path: path ?? request.probedCcacheName,
          visible: content !== null,
          content: content?.toString('utf8').slice(0, 64) ?? null,
        },
      );
    } else {
      trace.event('ccache', 'stand-in: no probed ccache name');
    }
    for (const path of this.probePaths) {
      // visible: the file could be read; error: why it could not, other than "does not exist"
      let visible = false;
      let error: string | null = null;
      let detail = '';
      try {
        const content = readCallerFileIfExists(path, { maxBytes: 4096 });
        visible = content !== null;
        if (content) detail = `: ${JSON.stringify(content.toString('utf8').slice(0, 64))}`;
      } catch (e) {
        error = e instanceof CallerFileError ? e.code : String(e);
        detail = ` (${(e as Error).message})`;
      }
      trace.event('ccache', `stand-in: probe ${path} ${visible ? 'visible' : error ? 'unreadable' : 'not visible'}${detail}`, {
        path,
        visible,
        error,
      });
    }
    if (request.host.startsWith('fail-')) {
      throw new CredentialError(this.name, 'no-credentials', `stand-in told to fail for ${request.host}`);
    }
    return {
      gssToken: STANDIN_GSS_TOKEN,
      sessionKey: STANDIN_SESSION_KEY,
      enctype: 17,
      clientPrincipal: `${request.identity.username}@STANDIN.TEST`,
      servicePrincipal: `cifs/${request.host}@STANDIN.TEST`,
    };
  }
}
