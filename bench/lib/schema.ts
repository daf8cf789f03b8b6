// The bench result file (result.json): one versioned schema, in zod, also exported as JSON
// Schema (result.schema.json beside every result). Bump RESULT_SCHEMA_VERSION on any change
// a reader of an older file would misread.
import * as z from "zod";

export const RESULT_SCHEMA_VERSION = 1;

const nonNegative = z.number().finite().nonnegative();

const latencyUs = z.object({
  p50: nonNegative,
  p99: nonNegative,
  p999: nonNegative,
}).describe("Request latency percentiles in microseconds");

const sample = z.object({
  round: z.number().int().nonnegative(),
  iops: nonNegative,
  megabytesPerSecond: nonNegative,
  seconds: nonNegative.describe("Seconds of counted I/O, by the client's clock"),
  latencyUs: latencyUs.nullable(),
  cpuSeconds: nonNegative.nullable().describe("CPU seconds of the system's processes"),
  bytesMoved: nonNegative.describe("Bytes moved while the CPU time was sampled"),
});

const systemResult = z.object({
  system: z.enum(["limit", "tgt", "twinsan"]),
  client: z.enum(["fio", "qemu-img", "iscsi-perf", "loadgen"]),
  iops: nonNegative.describe("Median over the rounds"),
  megabytesPerSecond: nonNegative.describe("Median over the rounds; 1 MB = 10^6 bytes"),
  latencyUs: latencyUs.nullable()
    .describe("Null when the client cannot measure it (qemu-img, iscsi-perf)"),
  cpuSecondsPerGigabyte: nonNegative.nullable()
    .describe("CPU seconds of the system's processes per 10^9 bytes moved"),
  samples: z.array(sample).min(1),
});

const workload = z.object({
  pattern: z.enum(["random", "sequential"]),
  readPercent: z.number().int().min(0).max(100),
  ioSizeBytes: z.number().int().positive(),
  queueDepth: z.number().int().positive(),
  sessions: z.number().int().positive(),
});

const ratio = nonNegative.nullable();

const row = z.object({
  id: z.string().min(1),
  label: z.string().min(1),
  workload,
  client: z.enum(["qemu-img", "iscsi-perf", "loadgen"]),
  results: z.array(systemResult).min(1),
  ratios: z.object({
    twinsanOverPeer: ratio.describe("twinsan IOPS / tgt IOPS"),
    twinsanOverLimit: ratio.describe("twinsan IOPS / fio IOPS on the backing file"),
  }),
});

export const benchResultSchema = z.object({
  schema: z.literal("twinsan-bench-result"),
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
  profile: z.enum(["quick", "full"]),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  host: z.object({
    hostname: z.string(),
    kernel: z.string(),
    cpuModel: z.string(),
    cpuCount: z.number().int().positive(),
    memoryBytes: z.number().int().positive(),
    bunVersion: z.string(),
  }),
  twinsan: z.object({
    directory: z.string(),
    commit: z.string().nullable(),
    dirty: z.boolean().nullable().describe("Uncommitted changes in the working tree"),
  }),
  tools: z.record(z.string(), z.string()).describe("Version line of each external program"),
  setup: z.object({
    lunSizeBytes: z.number().int().positive(),
    lunBlockSizeBytes: z.union([z.literal(512), z.literal(4096)]),
    backingFile: z.string().describe("One file, fully written, shared by all systems"),
    peerDirectIo: z.boolean().describe("tgt opened the file O_DIRECT (--bsoflags direct)"),
    twinsanDirectIo: z.boolean(),
    rounds: z.number().int().positive(),
    warmupSeconds: nonNegative,
    measureSeconds: nonNegative,
    order: z.string().describe("How systems were interleaved within a row"),
  }),
  rows: z.array(row),
});

export type BenchResult = z.infer<typeof benchResultSchema>;
export type BenchRow = BenchResult["rows"][number];
export type SystemResult = BenchRow["results"][number];
export type Sample = SystemResult["samples"][number];

/** The JSON Schema (draft 2020-12) of result.json. */
export function resultJsonSchema(): Record<string, unknown> {
  return {
    $id: `https://twinsan.invalid/bench/result-v${RESULT_SCHEMA_VERSION}.schema.json`,
    title: "twinsan bench result",
    ...z.toJSONSchema(benchResultSchema),
  };
}

/** Parses a result; the error lists each bad field by its path, e.g. rows.0.results.1.iops. */
export function parseBenchResult(value: unknown): BenchResult {
  const parsed = benchResultSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) =>
    `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`);
  throw new Error(`invalid bench result:\n${issues.join("\n")}`);
}
