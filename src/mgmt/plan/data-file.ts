// Reading JSON data files (hardware profiles, cluster plans) and validating them with zod, with
// every problem reported as one "field.path: problem" line.

import { readFile } from "node:fs/promises";
import * as z from "zod";
import {
  describeTypeIssue, type FieldPath, formatFieldPath, formatZodIssue, integer, sizeBytesField,
} from "../schema-fields.ts";

export { integer, type FieldPath };

const TOP_LEVEL = "(top level)";

/** A data file that cannot be used; `issues` holds one "field.path: problem" line each. */
export class DataFileError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`${source}: ${issues.join("; ")}`);
    this.name = "DataFileError";
  }
}

export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new DataFileError(path, [`cannot read the file (${reason})`]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataFileError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
}

/** Problems found in one data file, each a "field.path: problem" line. */
export class IssueList {
  readonly lines: string[] = [];

  add(path: FieldPath, message: string): void {
    this.lines.push(`${formatPath(path)}: ${message}`);
  }

  /** `value` checked against `schema`, or undefined with its problems added. */
  check<Schema extends z.ZodType>(
    schema: Schema,
    value: unknown,
    basePath: FieldPath = [],
  ): z.output<Schema> | undefined {
    const parsed = schema.safeParse(value, { error: describeTypeIssue });
    if (parsed.success) return parsed.data;
    const lines = parsed.error.issues.flatMap((issue) =>
      formatZodIssue(issue, basePath, TOP_LEVEL));
    this.lines.push(...lines);
    return undefined;
  }

  throwIfAny(source: string): void {
    if (this.lines.length > 0) throw new DataFileError(source, this.lines);
  }
}

/** `value` checked against `schema`, or a DataFileError naming `source` and the fields. */
export function parseWith<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  source: string,
): z.output<Schema> {
  const issues = new IssueList();
  const data = issues.check(schema, value);
  issues.throwIfAny(source);
  return data as z.output<Schema>;
}

export function formatPath(path: FieldPath): string {
  return formatFieldPath(path, TOP_LEVEL);
}


export function positiveNumber() {
  return z.number().positive({ error: "must be a number above 0" });
}

/** Bytes as a whole number or a text such as "64KiB", "2TiB". */
export const sizeBytes = sizeBytesField('"64KiB", "1GiB", "2TiB"');

export const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: "must be letters, digits, '.', '_' or '-'" })
  .max(100, { error: "must be at most 100 characters" });

