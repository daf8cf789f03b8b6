// JSON-lines logging to stdout: {"ts":"...","level":"info","msg":"...",...fields}.
// TWINSAN_LOG_LEVEL (debug | info | warn | error, default info) sets the lowest level printed.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const LEVEL_RANKS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function isEnabled(level: LogLevel): boolean {
  const configured = process.env.TWINSAN_LOG_LEVEL?.toLowerCase() as LogLevel | undefined;
  const threshold = LEVEL_RANKS[configured ?? "info"] ?? LEVEL_RANKS.info;
  return LEVEL_RANKS[level] >= threshold;
}

// Errors would otherwise serialise as {} and bigints would throw.
function toJsonValue(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { name: value.name, message: value.message, ...(code !== undefined && { code }) };
  }
  return value;
}

function write(level: LogLevel, msg: string, fields?: LogFields): void {
  if (!isEnabled(level)) return;
  const entry = { ts: new Date().toISOString(), level, msg, ...fields };
  let line: string;
  try {
    line = JSON.stringify(entry, toJsonValue);
  } catch (error) {
    line = JSON.stringify({ ts: entry.ts, level, msg, logError: String(error) });
  }
  process.stdout.write(`${line}\n`);
}

export const log = {
  debug: (msg: string, fields?: LogFields): void => write("debug", msg, fields),
  info: (msg: string, fields?: LogFields): void => write("info", msg, fields),
  warn: (msg: string, fields?: LogFields): void => write("warn", msg, fields),
  error: (msg: string, fields?: LogFields): void => write("error", msg, fields),
};
