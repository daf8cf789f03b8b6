// `npm run bench [-- options]`: see `bun bench/run.ts --help`.
import { runBenchCommand } from "./cli.ts";

process.exitCode = await runBenchCommand(process.argv.slice(2));
