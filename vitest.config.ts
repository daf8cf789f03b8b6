// Vitest runs on Bun (`bunx --bun vitest run`). Each test file runs in its own forked Bun
// process; two at a time suit the 2-core machines the suite targets. Integration files set
// their own, longer timeouts. CountReporter prints the final `N passed, N failed` line.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    fileParallelism: true,
    testTimeout: 10_000,
    hookTimeout: 30_000,
    teardownTimeout: 15_000,
    reporters: ["default", "./test/helpers/count-reporter.ts"],
  },
});
