// Fuzzing twinsan from raw sockets: at least 100,000 mutated, truncated and oversized PDUs and
// login texts that the node read (each the start of a fresh connection it then closed, or
// followed by a NOP-Out it answered), on thousands of connections (FUZZ_SEED=N reproduces the
// inputs), while a healthy qemu-io session on another target keeps writing and verifying.
// Afterwards the node must still run and accept a fresh login, and every fuzz connection must
// have ended (reject, login failure or close) within its time bound.
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatCampaign, runFuzzCampaign } from "../helpers/fuzz-campaign.ts";
import { runHealthyWriter } from "../helpers/healthy-writer.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";
import { Prng } from "../helpers/prng.ts";
import { describeFailure, requireProgram, runCommand } from "../helpers/run-command.ts";
import { LUN_VENDOR_ID } from "../helpers/twinsan-config.ts";

const MiB = 1 << 20;
const HEALTHY_LUN = { lun: 0, sizeBytes: 64 * MiB, blockSizeBytes: 512 } as const;
const FUZZ_TARGET = "fuzz";
const FUZZ_LUN = { lun: 0, sizeBytes: 1 * MiB, blockSizeBytes: 512 } as const;
const MIN_CASES = 100_000;
const FUZZ_DEADLINE_MS = 100_000;
const MIN_HEALTHY_PAIRS = 2_000;

describe("fuzzing raw PDUs and login texts", () => {
  let node: TwinsanNode | undefined;

  beforeAll(async () => {
    node = await startTwinsan({
      luns: [HEALTHY_LUN],
      moreTargets: [{ name: FUZZ_TARGET, luns: [FUZZ_LUN] }],
    });
  }, 60_000);

  afterAll(async () => {
    await node?.dispose();
  }, 30_000);

  it("survives, keeps a healthy session correct and ends every bad connection", async () => {
    if (!node) throw new Error("node did not start");
    await requireProgram("iscsi-inq", "libiscsi-bin");
    const seed = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));
    console.log(`fuzz seed ${seed} (reproduce the inputs with FUZZ_SEED=${seed})`);

    let fuzzing = true;
    const campaign = runFuzzCampaign({
      endpoint: { host: node.host, port: node.port },
      names: { initiatorIqn: "iqn.2025-01.test.twinsan:fuzzer", targetIqn: node.iqn(FUZZ_TARGET) },
      lun: { lun: FUZZ_LUN.lun, blockCount: FUZZ_LUN.sizeBytes / FUZZ_LUN.blockSizeBytes,
        blockSizeBytes: FUZZ_LUN.blockSizeBytes },
      seed,
      minCases: MIN_CASES,
      concurrency: 16,
      deadlineMs: FUZZ_DEADLINE_MS,
      fullFeatureShare: 0.3,
    }).finally(() => {
      fuzzing = false;
    });
    const healthy = runHealthyWriter(new Prng(seed), {
      url: node.url(HEALTHY_LUN.lun),
      regionBytes: HEALTHY_LUN.sizeBytes,
      sectorBytes: HEALTHY_LUN.blockSizeBytes,
      pairsPerProcess: 500,
      minPairs: MIN_HEALTHY_PAIRS,
      keepGoing: () => fuzzing,
      processTimeoutMs: 60_000,
    });
    const [stats, healthyStats] = await Promise.all([campaign, healthy]);
    console.log(`${formatCampaign(stats)}\nhealthy session: ${healthyStats.processes} qemu-io ` +
      `sessions, ${healthyStats.pairs} verified write+read pairs, ` +
      `${healthyStats.bytesWritten} bytes written`);

    expect(node.alive, `node exited; its output:\n${node.logs.slice(-4000)}`).toBe(true);
    const inquiry = await runCommand("iscsi-inq", [node.url(HEALTHY_LUN.lun)],
      { timeoutMs: 10_000 });
    expect(inquiry.exitCode, `fresh login and INQUIRY: ${describeFailure(inquiry)}`).toBe(0);
    expect(inquiry.stdout).toMatch(new RegExp(`^Vendor:${LUN_VENDOR_ID}`, "m"));
    expect(stats.connectFailures, "connections refused").toEqual([]);
    expect(stats.outcomes.get("hung") ?? 0, "connections left open after EOF").toBe(0);
    expect(stats.malformedResponses, "responses that are not target PDUs").toEqual([]);
    expect(stats.validLoginsRefused.slice(0, 10), "valid logins refused").toEqual([]);
    expect(stats.confirmedCases, "fuzz cases the node read").toBeGreaterThanOrEqual(MIN_CASES);
    expect(healthyStats.pairs).toBeGreaterThanOrEqual(MIN_HEALTHY_PAIRS);
  }, 240_000);
});
