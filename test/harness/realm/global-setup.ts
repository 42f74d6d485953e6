// Vitest globalSetup of the integration project: one loopback test bed per run (fresh state
// directory and ports, so concurrent runs never collide), handed to tests via inject('realm').
import type { TestProject } from 'vitest/node';
import { startRealm, type RealmEnv } from './realm.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    realm: RealmEnv;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const realm = await startRealm();
  project.provide('realm', realm.env);
  process.stderr.write(`[realm] ${realm.env.stateDir} ready in ${Date.now() - started} ms\n`);
  return async () => {
    await realm.stop();
  };
}
