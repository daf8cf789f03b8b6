// The APTPL file of a logical unit: its registrations and persistent reservation while the last
// valid APTPL bit was one (SPC-4 5.13.5), replaced atomically and durably.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import {
  type PersistentReservation,
  type Registration,
  type ReservationState,
  checkReservationState,
  emptyReservationState,
} from "./state.ts";

const FORMAT = "twinsan-aptpl-1";

interface AptplFileContent {
  format: typeof FORMAT;
  registrations: Registration[];
  reservation: PersistentReservation | null;
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp file, fsync, rename over the old one, fsync the directory: old or new, never torn. */
async function replaceFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await fsyncPath(dirname(path), "r");
}

export class AptplFile {
  private present = false;
  /** Updates run one after another, so the file ends with the latest state. */
  private updating: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /**
   * The state as a power on finds it (SPC-4 5.13.5): the saved registrations and reservation,
   * PRGENERATION zero, no SPC-2 reservation. Undefined when there is no file. Read at start-up.
   */
  load(): ReservationState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const content = JSON.parse(text) as AptplFileContent;
    assert.equal(content.format, FORMAT, `${this.path}: not an APTPL file`);
    const state: ReservationState = {
      ...emptyReservationState(),
      registrations: content.registrations,
      reservation: content.reservation,
      persistThroughPowerLoss: true,
    };
    checkReservationState(state);
    this.present = true;
    return state;
  }

  /** Saves the state if its APTPL is set, else removes the file: resolves once durable. */
  update(state: ReservationState): Promise<void> {
    const content: AptplFileContent | undefined = state.persistThroughPowerLoss
      ? { format: FORMAT, registrations: state.registrations, reservation: state.reservation }
      : undefined;
    const next = this.updating.then(() => this.write(content));
    this.updating = next.catch(() => {});
    return next;
  }

  private async write(content: AptplFileContent | undefined): Promise<void> {
    if (content !== undefined) {
      await replaceFile(this.path, `${JSON.stringify(content, null, 2)}\n`);
      this.present = true;
    } else if (this.present) {
      await rm(this.path, { force: true });
      await fsyncPath(dirname(this.path), "r");
      this.present = false;
    }
  }
}
