// The whole public conformance suite (iscsi-test-cu -d, families ALL and iSCSI) against thin and
// thick LUNs with 512- and 4096-byte blocks, with a second URL on the node's second portal so the
// multipath families run over two I_T nexuses. tgt runs the same suite in the same run as the
// peer to beat. Every test twinsan skips must be listed, with its reason, in docs/conformance.md.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatSideBySide, runIscsiTestCu, type CuResult } from "../helpers/libiscsi.ts";
import { REPO_ROOT, startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";
import { startTgt, type TgtTarget } from "../helpers/tgt.ts";

const TEST_SPECS = ["ALL", "iSCSI"];
const LUN_SIZE_BYTES = 64 << 20;
const SUITE_RUN_TIMEOUT_MS = 600_000;
const CASES = [
  { provisioning: "thin", blockSizeBytes: 512 },
  { provisioning: "thick", blockSizeBytes: 512 },
  { provisioning: "thin", blockSizeBytes: 4096 },
  { provisioning: "thick", blockSizeBytes: 4096 },
] as const;

describe.each(CASES)("iscsi-test-cu ALL, $provisioning LUN, $blockSizeBytes-byte blocks",
  ({ provisioning, blockSizeBytes }) => {
    let node: TwinsanNode | undefined;
    let tgt: TgtTarget | undefined;

    beforeAll(async () => {
      node = await startTwinsan({
        portals: 2,
        luns: [{ lun: 0, sizeBytes: LUN_SIZE_BYTES, blockSizeBytes, provisioning }],
      });
      tgt = await startTgt({ sizeBytes: LUN_SIZE_BYTES, blockSizeBytes });
    }, 60_000);

    afterAll(async () => {
      await Promise.all([node?.dispose(), tgt?.stop()]);
    }, 30_000);

    it("has zero failures, more passes than tgt, and documents every skip", async () => {
      if (!node || !tgt) throw new Error("targets did not start");
      const run = (url: string, secondUrl: string): Promise<CuResult> =>
        runIscsiTestCu({ url, secondUrl, tests: TEST_SPECS, timeoutMs: SUITE_RUN_TIMEOUT_MS });
      const twinsan = await run(node.url(0), node.url(0, undefined, node.portals[1]));
      const reference = await run(tgt.url(), tgt.url());
      console.log(`iscsi-test-cu -d ALL,iSCSI, ${provisioning}, ${blockSizeBytes}-byte blocks\n` +
        formatSideBySide([["twinsan", twinsan], ["tgt", reference]]));

      expect(twinsan.failures, "failed iscsi-test-cu tests on twinsan").toEqual([]);
      expect(twinsan.failed).toBe(0);
      expect(twinsan.passed).toBeGreaterThan(reference.passed);
      const documented = await readFile(`${REPO_ROOT}/docs/conformance.md`, "utf8");
      const undocumented = twinsan.outcomes
        .filter((outcome) => outcome.status === "skipped")
        .map((outcome) => `${outcome.suite}.${outcome.test}`)
        .filter((name) => !documented.includes(`\`${name}\``));
      expect(undocumented, "skipped tests missing from docs/conformance.md").toEqual([]);
    }, 2 * SUITE_RUN_TIMEOUT_MS);
  });
