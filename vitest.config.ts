import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code, published vectors, captured bytes; no daemons) and
// `integration` (real KDC, gssproxy, kernel keyring, python3-gssapi acceptor; needs root).
// The integration project starts the loopback realm once per run (test/harness/realm/global-setup.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          globalSetup: ['test/harness/realm/global-setup.ts'],
        },
      },
    ],
  },
});
