import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "../helpers/temp-dir.ts";
import { NEXUS_A, NEXUS_B } from "./scsi-memory-device.ts";
import { GOOD, In, Sa, Type, unitWithNexuses } from "./scsi-reservations-helpers.ts";

const K1 = 0xabcdef01n;
const K2 = 0x42n;

describe("APTPL: persistent reservations through power loss", () => {
  let dir: TempDir;
  let path: string;

  beforeEach(async () => {
    dir = await makeTempDir("twinsan-aptpl");
    path = join(dir.path, "reservations", "lun0.json");
  });

  afterEach(() => dir.remove());

  /** A logical unit as a restarted node builds it: a new instance over the same file. */
  const start = () => unitWithNexuses([NEXUS_A, NEXUS_B], { persistentReservationsPath: path });

  it("reports PTPL_C, and PTPL_A once APTPL was set", async () => {
    const pr = await start();
    expect((await pr.prIn(NEXUS_A, In.REPORT_CAPABILITIES))[2] & 0x01).toBe(1);
    expect((await pr.prIn(NEXUS_A, In.REPORT_CAPABILITIES))[3] & 0x01).toBe(0);
    await pr.register(NEXUS_A, K1, { aptpl: true });
    expect((await pr.prIn(NEXUS_A, In.REPORT_CAPABILITIES))[3] & 0x01).toBe(1);
  });

  it("with APTPL=1 registrations and the reservation survive a restart", async () => {
    const before = await start();
    expect((await before.register(NEXUS_A, K1, { aptpl: true })).status).toBe(GOOD);
    await before.register(NEXUS_B, K2, { aptpl: true });
    expect((await before.reserve(NEXUS_A, K1, Type.WE_RO)).status).toBe(GOOD);
    expect(existsSync(path)).toBe(true);
    expect(existsSync(`${path}.tmp`)).toBe(false);

    const after = await start();
    expect(await after.reservation()).toEqual({ key: K1, scopeType: Type.WE_RO });
    // PRGENERATION restarts at zero on power on.
    expect(await after.keys()).toEqual({ generation: 0, keys: [K1, K2] });
    expect((await after.write(NEXUS_B)).status).toBe(GOOD);
    expect((await after.prIn(NEXUS_A, In.REPORT_CAPABILITIES))[3] & 0x01).toBe(1);
  });

  it("later changes are saved too: a release is persisted", async () => {
    const pr = await start();
    await pr.register(NEXUS_A, K1, { aptpl: true });
    await pr.reserve(NEXUS_A, K1, Type.EA);
    await pr.prOut(NEXUS_A, Sa.RELEASE, { key: K1 }, Type.EA);
    const after = await start();
    expect(await after.reservation()).toBeUndefined();
    expect((await after.keys()).keys).toEqual([K1]);
  });

  it("with APTPL=0 the file is removed and nothing survives a restart", async () => {
    const pr = await start();
    await pr.register(NEXUS_A, K1, { aptpl: true });
    expect(existsSync(path)).toBe(true);
    await pr.prOut(NEXUS_A, Sa.REGISTER, { key: K1, serviceActionKey: K2 });
    await pr.reserve(NEXUS_A, K2, Type.EA);
    expect(existsSync(path)).toBe(false);
    const after = await start();
    expect(await after.keys()).toEqual({ generation: 0, keys: [] });
    expect(await after.reservation()).toBeUndefined();
  });

  it("never APTPL: no file is written", async () => {
    const pr = await start();
    await pr.register(NEXUS_A, K1);
    await pr.reserve(NEXUS_A, K1, Type.WE);
    expect(existsSync(path)).toBe(false);
    expect(await (await start()).reservation()).toBeUndefined();
  });

  it("an SPC-2 reservation is not persisted", async () => {
    const pr = await start();
    await pr.register(NEXUS_A, K1, { aptpl: true });
    const saved = JSON.parse(readFileSync(path, "utf8"));
    expect(Object.keys(saved).sort()).toEqual(["format", "registrations", "reservation"]);
  });

  it("refuses a damaged file", async () => {
    const pr = await start();
    await pr.register(NEXUS_A, K1, { aptpl: true });
    const saved = JSON.parse(readFileSync(path, "utf8"));
    saved.registrations[0].key = "nonsense";
    writeFileSync(path, JSON.stringify(saved));
    await expect(start()).rejects.toThrow(/registration key/);
  });
});
