// zod building blocks shared by the config file and the plan/profile data files: numeric and
// size fields, and problems reported as one "field.path: problem" line each.
import * as z from "zod";

export type FieldPath = readonly PropertyKey[];

const SIZE_MULTIPLIERS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
};

/** Bytes in `size`: a whole byte count, or text such as "1GiB", "512MiB", "100GB", "1.5TiB". */
export function parseSizeBytes(size: unknown): number | undefined {
  if (typeof size === "number") return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  if (typeof size !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(size.trim());
  if (!match) return undefined;
  const multiplier = match[2] ? SIZE_MULTIPLIERS[match[2].toLowerCase()] : 1;
  if (multiplier === undefined) return undefined;
  const bytes = Number(match[1]) * multiplier;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export function integer(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number().int({ error }).min(min, { error }).max(max, { error });
}

/** Bytes as a whole number or a text such as "1GiB"; `examples` go into the error message. */
export function sizeBytesField(examples: string) {
  return z.unknown().transform((size, ctx) => {
    const bytes = parseSizeBytes(size);
    if (bytes !== undefined) return bytes;
    ctx.addIssue({
      code: "custom",
      message: size === undefined
        ? "is required"
        : `must be a whole number of bytes or a size such as ${examples}`,
    });
    return z.NEVER;
  });
}

/** Error map: "is required" for a missing field, "must be a number" for a wrong type. */
export function describeTypeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== "invalid_type") return undefined;
  if (issue.input === undefined) return "is required";
  const expected = String(issue.expected);
  return `must be ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`;
}

/** One line per problem; an unknown object key is reported at its own path. */
export function formatZodIssue(
  issue: z.core.$ZodIssue,
  basePath: FieldPath,
  topLevelName: string,
): string[] {
  const path = [...basePath, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) =>
      `${formatFieldPath([...path, key], topLevelName)}: unknown field`);
  }
  return [`${formatFieldPath(path, topLevelName)}: ${issue.message}`];
}

/** ["targets", 0, "luns", 1, "blockSizeBytes"] -> "targets[0].luns[1].blockSizeBytes". */
export function formatFieldPath(path: FieldPath, topLevelName: string): string {
  let text = "";
  for (const key of path) {
    text += typeof key === "number" ? `[${key}]` : `${text ? "." : ""}${String(key)}`;
  }
  return text || topLevelName;
}
