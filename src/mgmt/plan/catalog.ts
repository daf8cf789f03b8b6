// The hardware catalog: every profile file under hardware/, validated, keyed by profile id (the
// file name without .json).

import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as z from "zod";
import { DataFileError, parseWith, readJsonFile } from "./data-file.ts";
import {
  nicProfileSchema,
  raidLayoutSchema,
  sectorSizeProfilesSchema,
  type NicProfile,
  type RaidLayout,
  type SectorSizeProfile,
} from "./profile-schema.ts";

export const HARDWARE_DIR = fileURLToPath(new URL("../../../hardware/", import.meta.url));

export interface HardwareCatalog {
  nics: ReadonlyMap<string, NicProfile>;
  raidLayouts: ReadonlyMap<string, RaidLayout>;
  /** Keyed by initiator OS id: windows, esxi, ... */
  sectorSizes: ReadonlyMap<string, SectorSizeProfile>;
}

/** Loads and validates the catalog; throws DataFileError naming the file and field. */
export async function loadCatalog(hardwareDir = HARDWARE_DIR): Promise<HardwareCatalog> {
  const sectorSizesPath = join(hardwareDir, "sector-sizes.json");
  const sectorSizes = parseWith(
    sectorSizeProfilesSchema,
    await readJsonFile(sectorSizesPath),
    sectorSizesPath,
  );
  return {
    nics: await loadProfiles(join(hardwareDir, "nics"), nicProfileSchema),
    raidLayouts: await loadProfiles(join(hardwareDir, "raid"), raidLayoutSchema),
    sectorSizes: new Map(Object.entries(sectorSizes)),
  };
}

async function loadProfiles<Schema extends z.ZodType>(
  dir: string,
  schema: Schema,
): Promise<Map<string, z.output<Schema>>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".json")).sort();
  } catch (error) {
    throw new DataFileError(dir, [`cannot list profiles (${(error as Error).message})`]);
  }
  const profiles = new Map<string, z.output<Schema>>();
  for (const name of names) {
    const path = join(dir, name);
    profiles.set(basename(name, ".json"), parseWith(schema, await readJsonFile(path), path));
  }
  return profiles;
}
