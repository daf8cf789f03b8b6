// Child-process entry of the load generator: `bun bench/lib/loadgen/main.ts '<LoadOptions JSON>'`
// prints one JSON line, the LoadResult, and exits 0; on failure prints the error, exits 1.
// The bench runs it as its own process, so its CPU time is measured apart from the targets'.
import { runLoad, type LoadOptions } from "./run.ts";

try {
  const options = JSON.parse(process.argv[2] ?? "") as LoadOptions;
  const result = await runLoad(options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`loadgen: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
}
