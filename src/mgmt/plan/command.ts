// `twinsan plan`: checks cluster plan files against the sizing rules, optionally with values
// measured on this host (--probe). Exit status: 0 no error findings, 1 error findings,
// 2 usage error, an unreadable or invalid plan or catalog, or a failed probe.

import { parseArgs } from "node:util";
import { loadCatalog, type HardwareCatalog } from "./catalog.ts";
import { DataFileError } from "./data-file.ts";
import { applyMeasurements, probeHost, type Measurements } from "./probe.ts";
import { parsePartnerAddress, type PartnerAddress } from "./probe-rtt.ts";
import {
  EXIT_CLEAN,
  EXIT_UNUSABLE,
  exitStatusOf,
  formatMeasurements,
  formatPlanReport,
  formatRuleList,
  type PlanReport,
} from "./report.ts";
import { loadPlan } from "./resolve-plan.ts";
import { checkPlan, RULES } from "./rules.ts";

const RTT_SAMPLES = 7;
const RTT_TIMEOUT_MS = 2_000;
const DISK_PROBE_DURATION_MS = 2_000;

const USAGE = `Usage: twinsan plan [--json] FILE...
       twinsan plan --probe [--partner HOST[:PORT]]... [--disk PATH] [--node NAME] [FILE...]
       twinsan plan --rules

Checks cluster plans (JSON, see hardware/examples/) against the sizing rules of a storage
host (docs/planning.md). Exit status: 0 no error findings, 1 error findings, 2 usage error,
unreadable or invalid plan, or failed probe.

Options:
  --json                 print one JSON document instead of tables
  --probe                measure this host and feed the values into the rules
  --partner HOST[:PORT]  with --probe: sync RTT to a partner by TCP connect (port 3260 by
                         default); repeat for each partner
  --disk PATH            with --probe: random 4 KiB write rate of the disk holding PATH
  --node NAME            with --probe: the plan node this host is (default: every node)
  --rules                list the rules
  -h, --help             show this help
`;

interface PlanOptions {
  files: string[];
  json: boolean;
  listRules: boolean;
  help: boolean;
  /** Present with --probe. */
  probe?: { partners: PartnerAddress[]; diskPath?: string; nodeName?: string };
}

class UsageError extends Error {}

/** Runs `twinsan plan` with `argv` (the words after "plan"); returns the exit status. */
export async function runPlanCommand(argv: string[]): Promise<number> {
  let options: PlanOptions;
  try {
    options = parseOptions(argv);
  } catch (error) {
    const [problem] = (error as Error).message.split(". ");
    process.stderr.write(`twinsan plan: ${problem}\n\n${USAGE}`);
    return EXIT_UNUSABLE;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return EXIT_CLEAN;
  }
  if (options.listRules) {
    const ruleList = RULES.map(({ id, severity, summary }) => ({ id, severity, summary }));
    process.stdout.write(options.json ? toJson(ruleList) : formatRuleList(RULES));
    return EXIT_CLEAN;
  }
  let catalog: HardwareCatalog;
  let measurements: Measurements | undefined;
  try {
    catalog = await loadCatalog();
    if (options.probe) measurements = await probe(options.probe);
  } catch (error) {
    process.stderr.write(`twinsan plan: ${describeFailure(error)}\n`);
    return EXIT_UNUSABLE;
  }
  const reports: PlanReport[] = [];
  for (const file of options.files) {
    reports.push(await checkPlanFile(file, catalog, measurements, options.probe?.nodeName));
  }
  if (options.json) process.stdout.write(toJson({ measurements, plans: reports }));
  else writeText(reports, measurements);
  return Math.max(EXIT_CLEAN, ...reports.map(exitStatusOf));
}

function parseOptions(argv: string[]): PlanOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: "boolean" },
      probe: { type: "boolean" },
      partner: { type: "string", multiple: true },
      disk: { type: "string" },
      node: { type: "string" },
      rules: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  const base = {
    files: positionals,
    json: values.json ?? false,
    listRules: values.rules ?? false,
    help: values.help ?? false,
  };
  if (base.help || base.listRules) return base;
  const probeFlags = ["partner", "disk", "node"].filter((flag) => flag in values);
  if (!values.probe) {
    if (probeFlags.length > 0) throw new UsageError(`--${probeFlags[0]} needs --probe`);
    if (positionals.length === 0) throw new UsageError("missing FILE");
    return base;
  }
  if (values.partner === undefined && values.disk === undefined) {
    throw new UsageError("--probe needs --partner or --disk");
  }
  const partners = (values.partner ?? []).map((text) => {
    const address = parsePartnerAddress(text);
    if (!address) throw new UsageError(`--partner "${text}" is not HOST[:PORT]`);
    return address;
  });
  return { ...base, probe: { partners, diskPath: values.disk, nodeName: values.node } };
}

function probe(request: NonNullable<PlanOptions["probe"]>): Promise<Measurements> {
  return probeHost({
    partners: request.partners,
    diskPath: request.diskPath,
    rttSamples: RTT_SAMPLES,
    rttTimeoutMs: RTT_TIMEOUT_MS,
    diskDurationMs: DISK_PROBE_DURATION_MS,
  });
}

async function checkPlanFile(
  file: string,
  catalog: HardwareCatalog,
  measurements: Measurements | undefined,
  nodeName: string | undefined,
): Promise<PlanReport> {
  try {
    const planned = await loadPlan(file, catalog);
    const plan = measurements ? applyMeasurements(planned, measurements, nodeName) : planned;
    return { file, valid: true, planName: plan.name, findings: checkPlan(plan) };
  } catch (error) {
    if (error instanceof DataFileError) return { file, valid: false, issues: error.issues };
    return { file, valid: false, issues: [describeFailure(error)] };
  }
}

function writeText(reports: PlanReport[], measurements: Measurements | undefined): void {
  if (measurements) process.stdout.write(formatMeasurements(measurements));
  for (const report of reports) {
    const text = formatPlanReport(report, RULES.length);
    if (report.valid) process.stdout.write(text);
    else process.stderr.write(text);
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof DataFileError) return `${error.source}:\n  ${error.issues.join("\n  ")}`;
  return error instanceof Error ? error.message : String(error);
}

function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
