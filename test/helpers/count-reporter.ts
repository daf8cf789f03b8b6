// Prints one plain line as the very last output of a vitest run: `N passed, N failed`, followed
// by `, N skipped` when tests were skipped. "failed" counts failed tests, tests that never
// finished, and every file, suite or unhandled error that failed outside a test (a file that
// crashed while loading has no tests to count, so it must count here).
import type { Reporter, TestModule, TestSuite } from "vitest/node";

interface RunCounts {
  passed: number;
  failed: number;
  skipped: number;
}

function countTests(modules: ReadonlyArray<TestModule>): RunCounts {
  const counts: RunCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === "passed") counts.passed++;
      else if (state === "skipped") counts.skipped++;
      else counts.failed++; // "failed", or "pending": it never finished
    }
  }
  return counts;
}

function countFailedContainers(modules: ReadonlyArray<TestModule>): number {
  let failed = 0;
  const hasErrors = (entity: TestModule | TestSuite): boolean => entity.errors().length > 0;
  for (const module of modules) {
    if (hasErrors(module)) failed++;
    for (const suite of module.children.allSuites()) if (hasErrors(suite)) failed++;
  }
  return failed;
}

export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = countTests(modules);
    const failed = counts.failed + countFailedContainers(modules) + unhandledErrors.length;
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : "";
    process.stdout.write(`${counts.passed} passed, ${failed} failed${skipped}\n`);
  }
}
