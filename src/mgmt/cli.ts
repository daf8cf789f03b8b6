// The `twinsan` command. Exit codes: 0 done, 1 failed (invalid config file, unclean stop),
// 2 usage error or a node that could not start.

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ConfigError, defaultConfig, loadConfig, type TwinsanConfig } from "./config.ts";
import { log } from "./log.ts";

interface Flag {
  type: "string" | "boolean";
  /** Placeholder shown in usage for a string flag, e.g. FILE. */
  valueName?: string;
  help: string;
}

interface Invocation {
  flags: Record<string, string | boolean | undefined>;
  operands: string[];
}

interface CommandInfo {
  words: string[];
  operandNames: string[];
  flags: Record<string, Flag>;
  summary: string;
}

type Command = CommandInfo & (
  | { run(invocation: Invocation): Promise<number>; delegate?: never }
  /** A command with its own option parser gets the words after its name as they are. */
  | { delegate(args: string[]): Promise<number>; run?: never }
);

class UsageError extends Error {}

const COMMANDS: Command[] = [
  {
    words: ["serve"],
    operandNames: [],
    flags: {
      config: { type: "string", valueName: "FILE", help: "config file (default: the demo)" },
      "data-dir": { type: "string", valueName: "DIR", help: "data directory (default: ./data)" },
    },
    summary: "run a node until SIGTERM or SIGINT",
    run: serve,
  },
  {
    words: ["config", "check"],
    operandNames: ["FILE"],
    flags: {},
    summary: "validate a config file, print it resolved",
    run: checkConfig,
  },
  {
    words: ["plan"],
    operandNames: ["[--json|--probe ...] FILE..."],
    flags: {},
    summary: "check a cluster plan against the sizing rules (see docs/planning.md)",
    delegate: async (args) => (await import("./plan/command.ts")).runPlanCommand(args),
  },
  {
    words: ["bench"],
    operandNames: ["[--quick|micro|...]"],
    flags: {},
    summary: "benchmark twinsan against tgt and fio (see docs/benchmarks.md)",
    delegate: async (args) => (await import("../../bench/cli.ts")).runBenchCommand(args),
  },
];

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** Runs the command line `argv` (without the runtime and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === "--help" || first === "-h") {
    process.stdout.write(mainUsage());
    return EXIT_OK;
  }
  if (first === "--version") {
    process.stdout.write(`twinsan ${await packageVersion()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.words.every((word, i) => argv[i] === word));
  if (!command) {
    const subcommands = COMMANDS.filter((c) => c.words.length > 1 && c.words[0] === first);
    const problem =
      first === undefined
        ? "missing command"
        : subcommands.length > 0
          ? `"${first}" needs one of: ${subcommands.map((c) => c.words[1]).join(", ")}`
          : `unknown command "${first}"`;
    process.stderr.write(`twinsan: ${problem}\n\n${mainUsage()}`);
    return EXIT_USAGE;
  }
  if (command.delegate) return command.delegate(argv.slice(command.words.length));
  let invocation: Invocation;
  try {
    invocation = parseInvocation(command, argv.slice(command.words.length));
  } catch (error) {
    if (!(error instanceof UsageError || isParseArgsError(error))) throw error;
    // parseArgs appends advice about "--" to its first sentence; the usage below says enough.
    const [problem] = (error as Error).message.split(". ");
    process.stderr.write(`${commandName(command)}: ${problem}\n\n`);
    process.stderr.write(commandUsage(command));
    return EXIT_USAGE;
  }
  if (invocation.flags.help) {
    process.stdout.write(commandUsage(command));
    return EXIT_OK;
  }
  return command.run(invocation);
}

function parseInvocation(command: Command, args: string[]): Invocation {
  const options = Object.fromEntries(
    Object.entries(command.flags).map(([name, flag]) => [name, { type: flag.type }]),
  );
  const { values, positionals } = parseArgs({
    args,
    options: { ...options, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  const missing = command.operandNames.slice(positionals.length);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(" ")}`);
  const extra = positionals.slice(command.operandNames.length);
  if (extra.length > 0) throw new UsageError(`unexpected operand "${extra[0]}"`);
  return { flags: values, operands: positionals };
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

async function serve({ flags }: Invocation): Promise<number> {
  const configPath = flags.config as string | undefined;
  const dataDir = flags["data-dir"] as string | undefined;
  // Listening for signals before the node says "ready": a signal in between still stops it cleanly.
  const stopSignal = firstStopSignal();
  let stop: () => Promise<void>;
  try {
    const config = configPath ? await loadConfig(configPath, { dataDir }) : defaultConfig(dataDir);
    if (!configPath) log.info("using the embedded demo config", { dataDir: config.node.dataDir });
    // Loaded on demand so that `config check` and `--help` never load the iSCSI stack.
    const { startNode } = await import("../node.ts");
    ({ stop } = await startNode(config));
  } catch (error) {
    process.stderr.write(`twinsan serve: ${oneLine(error)}\n`);
    return EXIT_USAGE;
  }
  const signal = await stopSignal;
  log.info("stopping", { signal });
  try {
    await stop();
    return EXIT_OK;
  } catch (error) {
    log.error("stop failed", { error });
    return EXIT_FAILED;
  }
}

/** Resolves on the first SIGTERM or SIGINT; a second one ends the process at once. */
function firstStopSignal(): Promise<NodeJS.Signals> {
  const signalExitCodes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const name of Object.keys(signalExitCodes)) process.off(name, onSignal);
      for (const name of Object.keys(signalExitCodes)) {
        process.once(name, () => {
          log.warn("second signal, exiting without a clean stop", { signal: name });
          process.exit(signalExitCodes[name as NodeJS.Signals]);
        });
      }
      resolve(signal);
    };
    for (const name of Object.keys(signalExitCodes)) process.on(name, onSignal);
  });
}

async function checkConfig({ operands: [path] }: Invocation): Promise<number> {
  let config: TwinsanConfig;
  try {
    config = await loadConfig(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      process.stderr.write(`twinsan config check: ${oneLine(error)}\n`);
      return EXIT_FAILED;
    }
    const lines = error.issues.map((issue) => `  ${issue}\n`).join("");
    process.stderr.write(`twinsan config check: ${path} is invalid:\n${lines}`);
    return EXIT_FAILED;
  }
  process.stdout.write(`${JSON.stringify(config, hideSecrets, 2)}\n`);
  return EXIT_OK;
}

function hideSecrets(key: string, value: unknown): unknown {
  return key === "secret" ? "********" : value;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ");
}

function commandName(command: Command): string {
  return `twinsan ${command.words.join(" ")}`;
}

function commandSynopsis(command: Command): string {
  const flags = Object.entries(command.flags).map(([name, flag]) =>
    flag.valueName ? `[--${name} ${flag.valueName}]` : `[--${name}]`,
  );
  return [command.words.join(" "), ...command.operandNames, ...flags].join(" ");
}

function commandUsage(command: Command): string {
  const flagLines = Object.entries(command.flags).map(([name, flag]) => {
    const label = flag.valueName ? `--${name} ${flag.valueName}` : `--${name}`;
    return `  ${label.padEnd(20)} ${flag.help}\n`;
  });
  return (
    `Usage: twinsan ${commandSynopsis(command)}\n\n${command.summary}\n\n` +
    `Options:\n${flagLines.join("")}  ${"-h, --help".padEnd(20)} show this help\n`
  );
}

function mainUsage(): string {
  const synopses = COMMANDS.map(commandSynopsis);
  const width = Math.max(...synopses.map((synopsis) => synopsis.length)) + 2;
  const commandLines = COMMANDS.map(
    (command, i) => `  ${synopses[i].padEnd(width)}${command.summary}\n`,
  );
  return (
    "Usage: twinsan <command> [options]\n\n" +
    "twinsan: an iSCSI target on Bun (highly available software SAN, in progress).\n\n" +
    `Commands:\n${commandLines.join("")}\n` +
    "Options:\n  -h, --help   show help (also after a command)\n" +
    "  --version    print the version\n\n" +
    "serve without --config runs the embedded demo: target iqn.2026-11.org.twinsan:demo,\n" +
    "LUN 0 of 1 GiB in <data dir>/demo-lun0.img, portal 127.0.0.1:3260.\n"
  );
}

async function packageVersion(): Promise<string> {
  const packageJson = await readFile(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(packageJson) as { version: string }).version;
}

if (import.meta.main) {
  const exitCode = await main(process.argv.slice(2));
  process.exit(exitCode);
}
