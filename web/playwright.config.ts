// Browser tests: Debian's Chromium (the registry's browser downloads are not
// reachable here) against two real homeservers started by e2e/servers.ts.
// One worker: the machine has two cores and the servers need one.
import { defineConfig } from '@playwright/test';

const perf = !!process.env.HEARTH_PERF;

export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/servers.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // Generous: a loaded 2-core machine; the waits inside are for state, not time.
  timeout: perf ? 600_000 : 90_000,
  expect: { timeout: 15_000 },
  // The @perf benchmarks run only through `make bench-web` (HEARTH_PERF=1).
  grep: perf ? /@perf/ : undefined,
  grepInvert: perf ? undefined : /@perf/,
  // Traces and screenshots of failures; under bin/, which git ignores.
  outputDir: '../bin/web-test-results',
  reporter: [['list'], ['./e2e/summary-reporter.ts']],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
