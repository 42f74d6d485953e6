// Fault matrix, KDC rows (RFC 4120 §7.2; SECURITY.md "Fault matrix"): the production bundle
// (--strategy local-only) with alice's valid TGT, asking for cifs/fs1 from a KDC that is
// unreachable, silent, slow beyond the timeout, answering garbage, a truncated reply, or a
// KRB-ERROR of each common kind — and the real KDC with the clocks an hour apart. Every row runs
// through the real request-key path (request_key(2) → /sbin/request-key → the bundle with
// --key-type user) and ends within its bound with exactly one LOG_ERR line naming the cause
// (captured by pid from a private /dev/log), the cause in the trace, exit 8, and the key negative
// in /proc/keys with our negative_timeout. On a host where root's request_key(2) reaches no
// helper (probeRootRequestKey) the rows run --replay and assert "would be negated" instead. A
// positive control against the real KDC shows the same command line gets a key.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeKdc, type FakeKdc, type FakeKdcMode } from '../harness/faults/fault-kdc.ts';
import { startSyslogCapture, type SyslogCapture } from '../harness/faults/fault-syslog.ts';
import {
  buildProduction,
  expectFaultRefused,
  expectKeyInstantiated,
  faultUpcall,
  matrixRow,
  printMatrix,
  probeRootRequestKey,
  type MatrixRow,
  type ProductionBundle,
  type UpcallOutcome,
} from '../harness/faults/fault-upcall.ts';
import { findFreePort } from '../harness/common/processes.ts';
import { kinit } from '../harness/realm/realm.ts';
import { startPlainCaller, type CallerProcess } from '../harness/standin/harness.ts';

const env = inject('realm');
let bundle: ProductionBundle;
let work: string;
let syslog: SyslogCapture;
let config: string;
const callers: CallerProcess[] = [];
const kdcs: FakeKdc[] = [];
const rows: MatrixRow[] = [];
const rand = (): string => Math.random().toString(36).slice(2, 8);
const alice = () => env.users['alice']!;
/** cifs-upcall.conf: the whole upcall may take 4 s, one KDC attempt 1 s */
const BUDGET_S = 4;
/** cifs-upcall.conf negative_timeout */
const NEGATIVE_S = 4;
const requestKey = probeRootRequestKey();
if (!requestKey.available) process.stderr.write(`[probe] fault-kdc rows run --replay (key state from the trace): ${requestKey.finding}\n`);

beforeAll(async () => {
  bundle = await buildProduction('kdc');
  work = mkdtempSync('/tmp/cifs-upcall-fault-kdc-');
  chmodSync(work, 0o755);
  syslog = await startSyslogCapture(work);
  config = join(work, 'cifs-upcall.conf');
  writeFileSync(config, `[global]\ntimeout = ${BUDGET_S}\nkdc_timeout = 1\nnegative_timeout = ${NEGATIVE_S}\n`, { mode: 0o644 });
});

afterAll(async () => {
  printMatrix('KDC', rows);
  for (const k of kdcs) await k.stop();
  for (const c of callers) await c.stop();
  await syslog?.stop();
  rmSync(work, { recursive: true, force: true });
  bundle?.remove();
});

/** krb5.conf with EXAMPLE.TEST's KDC at `port` (and extra [libdefaults] lines). */
function krb5ConfFor(port: number, extra: string[] = []): string {
  const path = join(work, `krb5-${port}-${rand()}.conf`);
  const text = readFileSync(env.krb5Conf, 'utf8')
    .replace(`kdc = 127.0.0.1:${env.kdc.port}`, `kdc = 127.0.0.1:${port}`)
    .replace('[libdefaults]', `[libdefaults]\n${extra.map((l) => `  ${l}`).join('\n')}`);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

/** A caller whose KRB5CCNAME is a fresh valid cache of alice's (optionally edited). */
async function aliceCaller(edit?: (bytes: Buffer) => void): Promise<CallerProcess> {
  const path = join(env.ccacheDir, `fault_kdc_${rand()}`);
  kinit(env, alice(), `FILE:${path}`);
  if (edit) {
    const bytes = readFileSync(path);
    edit(bytes);
    writeFileSync(path, bytes);
  }
  const c = await startPlainCaller({ KRB5CCNAME: `FILE:${path}` });
  callers.push(c);
  return c;
}

async function upcallVia(krb5Conf: string, edit?: (bytes: Buffer) => void): Promise<UpcallOutcome> {
  const c = await aliceCaller(edit);
  return faultUpcall({
    requestKey,
    bundle: bundle.path,
    work,
    syslog,
    args: ['--config', config, '--strategy', 'local-only', '-k', krb5Conf],
    fields: { host: env.hosts.fs1, uid: alice().uid, pid: c.pid },
  });
}

async function fake(mode: FakeKdcMode): Promise<FakeKdc> {
  const k = await startFakeKdc(mode, { realm: env.realm, realKdcPort: env.kdc.port });
  kdcs.push(k);
  return k;
}

function expectFailure(fault: string, o: UpcallOutcome, boundMs: number, cause: RegExp): void {
  matrixRow(rows, fault, boundMs, o);
  expectFaultRefused(o, { boundMs, cause, traceArea: 'result', negativeS: NEGATIVE_S });
}

describe('positive control', () => {
  it('the real KDC: exit 0, a key with a payload, no LOG_ERR line', async () => {
    const o = await upcallVia(env.krb5Conf);
    expectKeyInstantiated(o);
    expect(o.errors).toEqual([]);
    expect(o.syslog.some((l) => /Exit status 0/.test(l.message))).toBe(true);
  });
});

describe('the KDC cannot be reached or does not answer', () => {
  it('unreachable: nothing listens on the port (ICMP port unreachable, TCP RST)', async () => {
    const o = await upcallVia(krb5ConfFor(findFreePort(39000, 40000)));
    expectFailure('KDC unreachable (nothing on the port)', o, 2500, /Cannot contact any KDC|refused|unreachable/i);
  });

  it(`silent: a KDC that never answers — ends with the budget (${BUDGET_S} s)`, async () => {
    const k = await fake({ kind: 'silent' });
    const o = await upcallVia(krb5ConfFor(k.port));
    expectFailure('KDC silent', o, BUDGET_S * 1000 + 2500, /no reply|Cannot contact any KDC|budget|aborted/i);
    expect(k.requests).toBeGreaterThan(0);
  });

  it('slow: answers correctly but 8 s late, beyond kdc_timeout and the budget', async () => {
    const k = await fake({ kind: 'slow', delayMs: 8000 });
    const o = await upcallVia(krb5ConfFor(k.port));
    expectFailure('KDC slow (8 s, beyond the timeout)', o, BUDGET_S * 1000 + 2500, /no reply|Cannot contact any KDC|budget|aborted/i);
  });
});

describe('the KDC answers nonsense', () => {
  it('garbage bytes', async () => {
    const k = await fake({ kind: 'garbage', bytes: Buffer.from('this is not a Kerberos message at all') });
    expectFailure('KDC answers garbage', await upcallVia(krb5ConfFor(k.port)), 2500, /unusable reply \(37 bytes\)/);
  });

  it('a DER-looking reply of the wrong type ([APPLICATION 1] Ticket instead of TGS-REP)', async () => {
    const k = await fake({ kind: 'garbage', bytes: Buffer.from('6182000430020100', 'hex') });
    expectFailure('KDC answers the wrong message type', await upcallVia(krb5ConfFor(k.port)), 2500, /unusable reply \(8 bytes\)/);
  });

  it('the real TGS-REP truncated to 100 bytes', async () => {
    const k = await fake({ kind: 'truncated', keep: 100 });
    expectFailure('KDC reply truncated', await upcallVia(krb5ConfFor(k.port)), 2500, /malformed|truncat|ends|decode|DER|length/i);
  });
});

/** RFC 4120 §7.5.9 codes a KDC answers a TGS-REQ with, and the words the cause must contain. */
const KRB_ERRORS: Array<[number, string, RegExp]> = [
  [6, 'KDC_ERR_C_PRINCIPAL_UNKNOWN', /client .*not found|C_PRINCIPAL_UNKNOWN|\b6\b/i],
  [7, 'KDC_ERR_S_PRINCIPAL_UNKNOWN', /S_PRINCIPAL_UNKNOWN|server .*not found|\b7\b/i],
  [12, 'KDC_ERR_POLICY', /POLICY|policy/],
  [13, 'KDC_ERR_BADOPTION', /BADOPTION|option/i],
  [14, 'KDC_ERR_ETYPE_NOSUPP', /ETYPE_NOSUPP|encryption type/i],
  [18, 'KDC_ERR_CLIENT_REVOKED', /CLIENT_REVOKED|revoked/i],
  [24, 'KDC_ERR_PREAUTH_FAILED', /PREAUTH_FAILED|pre-?auth/i],
  [32, 'KRB_AP_ERR_TKT_EXPIRED', /TKT_EXPIRED|expired/i],
  [41, 'KRB_AP_ERR_MODIFIED', /MODIFIED|modified/i],
  [52, 'KRB_ERR_RESPONSE_TOO_BIG (UDP and TCP)', /RESPONSE_TOO_BIG|too big/i],
  [60, 'KRB_ERR_GENERIC', /GENERIC|generic/i],
];

describe('the KDC answers KRB-ERROR', () => {
  for (const [code, name, cause] of KRB_ERRORS) {
    it(`${name} (${code})`, async () => {
      const k = await fake({ kind: 'krb-error', code, eText: `fault-matrix ${name}` });
      const o = await upcallVia(krb5ConfFor(k.port));
      expectFailure(`KRB-ERROR ${name}`, o, 2500, cause);
    });
  }

  it('KRB_AP_ERR_SKEW (37) with the KDC claiming a time an hour ahead: one timesync retry, then refused', async () => {
    const k = await fake({ kind: 'krb-error', code: 37, stimeOffsetS: 3600 });
    const o = await upcallVia(krb5ConfFor(k.port));
    expectFailure('KRB-ERROR KRB_AP_ERR_SKEW (fake KDC)', o, 2500, /SKEW|skew/);
    expect(k.requests).toBeLessThanOrEqual(4);
  });
});

describe('clock skew against the real KDC', () => {
  it('the cache says the KDC is an hour behind and kdc_timesync = 0: refused with the size of the skew', async () => {
    const o = await upcallVia(krb5ConfFor(env.kdc.port, ['kdc_timesync = 0']), (bytes) => {
      // FILE v4 header: 05 04, u16 length 12, tag 1 (KDC time offset), u16 8, i32 seconds, i32 µs
      expect(bytes.subarray(0, 8).toString('hex')).toBe('0504000c00010008');
      bytes.writeInt32BE(-3600, 8);
    });
    expectFailure('clock skew (real KDC, kdc_timesync = 0)', o, 2500, /clock skew too great|KRB_AP_ERR_SKEW/);
  });
});
