// A fuzz campaign: many concurrent raw connections, each built from its own seeded generator
// (seed, connection index), until enough cases were sent; counts inputs and outcomes.
import { loginPhaseCase, type LoginNames } from "./fuzz-login.ts";
import {
  runFuzzConnection,
  type ConnectionOutcome,
  type ConnectionPlan,
  type Endpoint,
  type LunShape,
} from "./fuzz-connection.ts";
import { Prng } from "./prng.ts";

const MAX_CONNECT_FAILURES = 10; // the target is gone or refusing: stop rather than spin

export interface CampaignOptions {
  endpoint: Endpoint;
  names: LoginNames; // the target the fuzzer logs in to (never the healthy session's target)
  lun: LunShape;
  seed: number;
  minCases: number; // confirmed read by the target
  concurrency: number;
  deadlineMs: number; // stop starting connections after this long, even short of minCases
  fullFeatureShare: number; // fraction of connections that log in before fuzzing
}

export interface CampaignStats {
  connections: number;
  fullFeatureConnections: number;
  cases: number;
  confirmedCases: number; // known to have been read by the target
  responsePdus: number;
  casesByKind: Map<string, number>;
  commandsByName: Map<string, number>;
  outcomes: Map<ConnectionOutcome, number>;
  malformedResponses: string[];
  validLoginsRefused: string[];
  connectFailures: string[];
  elapsedMs: number;
}

function increment<K>(counts: Map<K, number>, key: K, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

function planConnection(prng: Prng, options: CampaignOptions): ConnectionPlan {
  if (prng.chance(options.fullFeatureShare)) {
    return { phase: "full feature", names: options.names, caseCount: prng.between(50, 300),
      lun: options.lun };
  }
  return { phase: "login", fuzzCase: loginPhaseCase(prng, options.names) };
}

export async function runFuzzCampaign(options: CampaignOptions): Promise<CampaignStats> {
  const stats: CampaignStats = {
    connections: 0, fullFeatureConnections: 0, cases: 0, confirmedCases: 0, responsePdus: 0,
    casesByKind: new Map(), commandsByName: new Map(), outcomes: new Map(),
    malformedResponses: [], validLoginsRefused: [], connectFailures: [], elapsedMs: 0,
  };
  const started = Date.now();
  let nextIndex = 0;
  const more = (): boolean => stats.confirmedCases < options.minCases &&
    Date.now() - started < options.deadlineMs &&
    stats.connectFailures.length < MAX_CONNECT_FAILURES;
  const worker = async (): Promise<void> => {
    while (more()) {
      const index = nextIndex++;
      const prng = Prng.derive(options.seed, index);
      const plan = planConnection(prng, options);
      try {
        const report = await runFuzzConnection(options.endpoint, plan, prng);
        stats.connections++;
        if (plan.phase === "full feature") stats.fullFeatureConnections++;
        stats.cases += report.cases.length;
        stats.confirmedCases += report.confirmed;
        stats.responsePdus += report.responsePdus;
        increment(stats.outcomes, report.outcome);
        for (const sent of report.cases) {
          increment(stats.casesByKind, sent.kind);
          if (sent.command) increment(stats.commandsByName, sent.command);
        }
        const where = `connection ${index}`;
        if (report.malformedResponse) {
          stats.malformedResponses.push(`${where}: ${report.malformedResponse}`);
        }
        if (report.validLoginRefused) {
          stats.validLoginsRefused.push(`${where}: ${report.validLoginRefused}`);
        }
      } catch (error) {
        stats.connectFailures.push(`connection ${index}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  stats.elapsedMs = Date.now() - started;
  return stats;
}

export function formatCampaign(stats: CampaignStats): string {
  const rows = (title: string, counts: Map<string, number>): string[] => [
    title,
    ...[...counts].sort((a, b) => b[1] - a[1])
      .map(([key, count]) => `  ${key.padEnd(32)} ${String(count).padStart(8)}`),
  ];
  return [
    `${stats.cases} cases (${stats.confirmedCases} confirmed read by the target) on ` +
      `${stats.connections} connections ` +
      `(${stats.fullFeatureConnections} logged in first) in ${stats.elapsedMs} ms; ` +
      `${stats.responsePdus} PDUs received`,
    ...rows("connection outcomes:", stats.outcomes),
    ...rows("cases by kind:", stats.casesByKind),
    ...rows("full feature commands (before mutation):", stats.commandsByName),
    `malformed responses: ${stats.malformedResponses.length}`,
    `valid logins refused: ${stats.validLoginsRefused.length}`,
    `connect failures: ${stats.connectFailures.length}`,
  ].join("\n");
}
