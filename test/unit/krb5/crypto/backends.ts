// The two crypto back ends (src/krb5/crypto/primitives.ts): the vector tests run once per back
// end, so both are held to the published answers.
import { afterAll, beforeAll } from 'vitest';
import { selectCryptoPrimitives } from '../../../../src/krb5/crypto/primitives.ts';

export const BACKENDS = ['native', 'node'] as const;
export type Backend = (typeof BACKENDS)[number];

/** The enclosing describe's tests run with `backend`; the default choice comes back after them. */
export function useBackend(backend: Backend): void {
  beforeAll(() => selectCryptoPrimitives(backend));
  afterAll(() => selectCryptoPrimitives(undefined));
}
