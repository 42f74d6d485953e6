// Client for the python3-gssapi acceptor oracle (acceptor.py): one long-lived Python process per
// test file, one JSON request per line. It proves a SPNEGO blob (or raw krb5 token) is accepted by
// MIT's real acceptor and returns the acceptor's GSS_C_INQ_SSPI_SESSION_KEY, which must equal the
// session key in our payload.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface Acceptance {
  ok: boolean;
  initiator?: string;
  target?: string;
  /** hex */
  key?: string;
  keyOid?: string | null;
  mech?: string;
  flags?: number;
  complete?: boolean;
  replyToken?: string | null;
  error?: string;
}

export class Acceptor {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<(a: Acceptance) => void> = [];
  private stderr = '';

  /** `script`: where acceptor.py is, when this module is bundled away from test/harness/ */
  constructor(env: { krb5Conf: string; rcacheDir: string }, script = fileURLToPath(new URL('./acceptor.py', import.meta.url))) {
    this.child = spawn('/usr/bin/python3', [script], {
      env: { PATH: '/usr/bin:/bin', KRB5_CONFIG: env.krb5Conf, KRB5RCACHEDIR: env.rcacheDir, LANG: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(JSON.parse(line) as Acceptance);
    });
    this.child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w({ ok: false, error: `acceptor exited: ${this.stderr}` });
    });
  }

  /** Accept a token with the given keytab; `mech` "spnego" (default) or "krb5" (raw RFC 2743 token). */
  accept(keytab: string, token: Buffer, mech: 'spnego' | 'krb5' = 'spnego'): Promise<Acceptance> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(JSON.stringify({ keytab, token: token.toString('hex'), mech }) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}
