// COMPARE AND WRITE is atomic against every other write to its range, seen from two initiators
// (two sessions) on a real node: racing compare-and-writes never lose an update, and racing
// plain WRITEs never leave a torn mix, nor let a compare see one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Initiator, type ScsiOutcome } from "../helpers/initiator.ts";
import { startTwinsan, type TwinsanNode } from "../helpers/node-process.ts";

const BLOCK = 512;
const RANGE_LBA = 64;
const RANGE_BLOCKS = 16;
const RANGE_BYTES = RANGE_BLOCKS * BLOCK;
const LOOPS_PER_INITIATOR = 3;
const ROUNDS_PER_LOOP = 150;
const GOOD = 0;
const CHECK_CONDITION = 2;
const MISCOMPARE = 0xe;
const TAG_BYTES = 8;

/** The range filled with one 64-bit tag: versions differ in every 8-byte unit. */
function pattern(tag: bigint): Buffer {
  const out = Buffer.alloc(RANGE_BYTES);
  for (let at = 0; at < RANGE_BYTES; at += TAG_BYTES) out.writeBigUInt64BE(tag, at);
  return out;
}

/** The tag of a range that holds one whole version; throws on a torn mix. */
function tagOf(data: Buffer): bigint {
  const tag = data.readBigUInt64BE(0);
  expect(data.equals(pattern(tag)), "range holds a mix of two versions").toBe(true);
  return tag;
}

function cawCdb(): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x89;
  cdb.writeBigUInt64BE(BigInt(RANGE_LBA), 2);
  cdb[13] = RANGE_BLOCKS;
  return cdb;
}

async function readRange(initiator: Initiator): Promise<bigint> {
  const outcome = await initiator.read10(RANGE_LBA, RANGE_BLOCKS);
  expect(outcome.status).toBe(GOOD);
  return tagOf(outcome.data);
}

function compareAndWrite(initiator: Initiator, from: bigint, to: bigint): Promise<ScsiOutcome> {
  return initiator.scsi(cawCdb(), { dataOut: Buffer.concat([pattern(from), pattern(to)]) });
}

/** GOOD, or MISCOMPARE whose first difference lies in the first tag: the compare saw a whole
 * version, not a half-written one. */
function expectGoodOrCleanMiscompare(outcome: ScsiOutcome): boolean {
  if (outcome.status === GOOD) return true;
  expect(outcome.status).toBe(CHECK_CONDITION);
  const sense = outcome.sense!;
  expect(sense[2] & 0x0f).toBe(MISCOMPARE);
  expect([sense[12], sense[13]]).toEqual([0x1d, 0x00]);
  expect(sense.readUInt32BE(3)).toBeLessThan(TAG_BYTES);
  return false;
}

describe("COMPARE AND WRITE racing on one range from two initiators", () => {
  let node: TwinsanNode | undefined;
  const initiators: Initiator[] = [];

  beforeAll(async () => {
    node = await startTwinsan({ luns: [{ lun: 0, sizeBytes: 4 << 20, blockSizeBytes: BLOCK }] });
    for (const name of ["a", "b"]) {
      const initiator = await connect({
        host: node.host,
        port: node.port,
        initiatorName: `iqn.2025-01.test.twinsan:caw-${name}`,
        targetName: node.targetIqn,
      });
      await initiator.scsi(Buffer.alloc(6)); // TEST UNIT READY takes the power-on attention
      initiators.push(initiator);
    }
    const zero = await initiators[0].write10(RANGE_LBA, pattern(0n));
    expect(zero.status).toBe(GOOD);
  }, 60_000);

  afterAll(async () => {
    for (const initiator of initiators) initiator.close();
    await node?.dispose();
  }, 30_000);

  it("never loses an increment: the final version counts the successful compares", async () => {
    let successes = 0n;
    const loop = async (initiator: Initiator) => {
      for (let round = 0; round < ROUNDS_PER_LOOP; round++) {
        const seen = await readRange(initiator);
        if (expectGoodOrCleanMiscompare(await compareAndWrite(initiator, seen, seen + 1n))) {
          successes++;
        }
      }
    };
    const start = await readRange(initiators[0]);
    await Promise.all(initiators.flatMap((initiator) =>
      Array.from({ length: LOOPS_PER_INITIATOR }, () => loop(initiator))));
    expect(successes).toBeGreaterThan(0n);
    expect(await readRange(initiators[1])).toBe(start + successes);
  }, 60_000);

  it("against plain WRITEs leaves only whole versions, and the final one was written", async () => {
    const written = new Set<bigint>([await readRange(initiators[0])]);
    const writer = async (initiator: Initiator, id: bigint) => {
      for (let round = 0n; round < BigInt(ROUNDS_PER_LOOP); round++) {
        const tag = (id << 32n) | round;
        written.add(tag);
        expect((await initiator.write10(RANGE_LBA, pattern(tag))).status).toBe(GOOD);
      }
    };
    const swapper = async (initiator: Initiator, id: bigint) => {
      for (let round = 0n; round < BigInt(ROUNDS_PER_LOOP); round++) {
        const seen = await readRange(initiator);
        const tag = (id << 32n) | round;
        written.add(tag);
        expectGoodOrCleanMiscompare(await compareAndWrite(initiator, seen, tag));
      }
    };
    await Promise.all([
      writer(initiators[1], 1n), writer(initiators[1], 2n),
      swapper(initiators[0], 3n), swapper(initiators[0], 4n), swapper(initiators[1], 5n),
    ]);
    expect(written.has(await readRange(initiators[0]))).toBe(true);
  }, 60_000);
});
