// Prints the closing line the project's runners recognise, exactly
// `N passed, N failed`, after Playwright's own report. A test counts once,
// by its final outcome; skipped tests count in neither.
import type { FullResult, Reporter, TestCase } from '@playwright/test/reporter';

export default class SummaryReporter implements Reporter {
  private tests: TestCase[] = [];
  private errors = 0;

  printsToStdio(): boolean {
    return true;
  }

  onTestBegin(test: TestCase): void {
    if (!this.tests.includes(test)) this.tests.push(test);
  }

  onError(): void {
    // An error outside any test (global setup, a file that does not load)
    // fails the run; it counts as a failure so the line never says all green.
    this.errors++;
  }

  onEnd(result: FullResult): void {
    let passed = 0;
    let failed = this.errors;
    for (const t of this.tests) {
      const o = t.outcome();
      if (o === 'expected' || o === 'flaky') passed++;
      else if (o === 'unexpected') failed++;
    }
    if (result.status !== 'passed' && failed === 0) failed = 1; // interrupted or timed out as a whole
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
  }
}
