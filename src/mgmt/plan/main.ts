// Entry point of `twinsan plan` on its own: bun src/mgmt/plan/main.ts [options] FILE...
import { runPlanCommand } from "./command.ts";

process.exitCode = await runPlanCommand(process.argv.slice(2));
