// What the chassis tests (test/integration/chassis-*.test.ts) share: the example payload of the
// stand-in source, and one set-up — the stand-in and production bundles (build.ts), a scratch
// directory under /tmp and a triggering process — registered as the file's beforeAll/afterAll.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { buildChassisBundles, type ChassisBundles } from './build.ts';
import type { CallerProcess } from './harness.ts';

/**
 * docs/kernel-key-protocol.md#example-payload: the cifs_spnego_msg payload for the stand-in's token
 * and session key with sec=krb5 (the stand-in source: test/harness/standin/source.ts).
 */
export const PAYLOAD_7_4 =
  '0200000000000000100000003d000000000102030405060708090a0b0c0d0e0f' +
  '603b06062b0601050502a031302fa00d300b06092a864886f712010202a21e041c601a06092a864886f71201020201006e0a30083006a0030201059f00' +
  '00000000';

/** The fixture of one test file; its fields are there once the file's beforeAll has run. */
export interface Chassis {
  readonly bundles: ChassisBundles;
  /** scratch directory /tmp/cifs-upcall-chassis-<label>-XXXXXX, removed after the file */
  readonly work: string;
  /** the triggering process, stopped after the file */
  readonly caller: CallerProcess;
}

/**
 * Registers the set-up of a chassis test file: bundles built under .work/ for `label`, the scratch
 * directory (chmod `workMode` when given: the user must be able to walk to the caller's files),
 * then `startCaller(work)`. Everything is removed in afterAll, in reverse order.
 */
export function useChassis(label: string, options: { workMode?: number; startCaller(work: string): Promise<CallerProcess> }): Chassis {
  let bundles: ChassisBundles | undefined;
  let work: string | undefined;
  let caller: CallerProcess | undefined;
  beforeAll(async () => {
    bundles = await buildChassisBundles(label);
    work = mkdtempSync(`/tmp/cifs-upcall-chassis-${label}-`);
    if (options.workMode !== undefined) chmodSync(work, options.workMode);
    caller = await options.startCaller(work);
  });
  afterAll(async () => {
    await caller?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    bundles?.remove();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`chassis ${label}: ${what} is not set up (used before beforeAll?)`);
    return value;
  };
  return {
    get bundles() {
      return ready(bundles, 'bundles');
    },
    get work() {
      return ready(work, 'work');
    },
    get caller() {
      return ready(caller, 'caller');
    },
  };
}
