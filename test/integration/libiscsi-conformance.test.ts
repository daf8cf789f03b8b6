// libiscsi's conformance suite (iscsi-test-cu -d) against twinsan and, side by side, against
// tgt as a reference target, for 512- and 4096-byte blocks. Any twinsan failure fails the test.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  formatSideBySide,
  listSuites,
  runIscsiTestCu,
  type CuResult,
} from "../helpers/libiscsi.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";
import { startTgt, type TgtTarget } from "../helpers/tgt.ts";

// Families and suites as `iscsi-test-cu -l` names them. This libiscsi has no Write6 suite;
// "iSCSI" is the family of iSCSIcmdsn, iSCSIdatasn, iSCSIResiduals and iSCSITMF.
const TEST_SPECS = [
  "ALL.TestUnitReady", "ALL.Inquiry", "ALL.ReadCapacity10", "ALL.ReadCapacity16", "ALL.Read6",
  "ALL.Read10", "ALL.Read12", "ALL.Read16", "ALL.Write10", "ALL.Write12", "ALL.Write16",
  "ALL.Verify10", "ALL.Verify16", "ALL.WriteVerify10", "ALL.WriteVerify16",
  "ALL.ReportSupportedOpcodes", "iSCSI",
];
const LUN_SIZE_BYTES = 64 << 20;
const SUITE_RUN_TIMEOUT_MS = 300_000;

describe.each([512, 4096] as const)("libiscsi conformance, %i-byte blocks", (blockSizeBytes) => {
  let node: TwinsanNode | undefined;
  let tgt: TgtTarget | undefined;

  beforeAll(async () => {
    const [twinsanStart, tgtStart] = await Promise.allSettled([
      startTwinsan({ luns: [{ lun: 0, sizeBytes: LUN_SIZE_BYTES, blockSizeBytes }] }),
      startTgt({ sizeBytes: LUN_SIZE_BYTES, blockSizeBytes }),
    ]);
    if (twinsanStart.status === "fulfilled") node = twinsanStart.value;
    if (tgtStart.status === "fulfilled") tgt = tgtStart.value;
    for (const start of [twinsanStart, tgtStart]) {
      if (start.status === "rejected") throw start.reason;
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([node?.dispose(), tgt?.stop()]);
  }, 30_000);

  it("passes every selected iscsi-test-cu test", async () => {
    if (!node || !tgt) throw new Error("targets did not start");
    const suitesBySpec = await listSuites(TEST_SPECS);
    const run = (url: string): Promise<CuResult> =>
      runIscsiTestCu({ url, tests: TEST_SPECS, timeoutMs: SUITE_RUN_TIMEOUT_MS });
    const [twinsan, reference] = await Promise.all([run(node.url(0)), run(tgt.url())]);
    console.log(`iscsi-test-cu -d, ${blockSizeBytes}-byte blocks\n` +
      formatSideBySide([["twinsan", twinsan], ["tgt", reference]]));

    const suitesRun = new Set(twinsan.outcomes.map((outcome) => outcome.suite));
    const suitesNotRun = [...suitesBySpec.values()].flat()
      .filter((suite) => !suitesRun.has(suite));
    expect(suitesNotRun, "suites that did not run on twinsan").toEqual([]);
    expect(twinsan.failures, "failed iscsi-test-cu tests on twinsan").toEqual([]);
    expect(twinsan.failed).toBe(0);
    expect(twinsan.passed).toBeGreaterThan(0);
  }, SUITE_RUN_TIMEOUT_MS + 60_000);
});
