// The bench result file: a result the bench produced validates against the schema (zod, and
// the exported JSON Schema's shape), renders as Markdown and SVG; a broken one is refused with
// the path of the bad field.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ratioChartSvg } from "../../bench/lib/plot.ts";
import { markdownReport } from "../../bench/lib/report.ts";
import {
  parseBenchResult,
  RESULT_SCHEMA_VERSION,
  resultJsonSchema,
} from "../../bench/lib/schema.ts";

/** A result written by `npm run bench -- --quick` (kept as the documented example run). */
const EXAMPLE_PATH = new URL("../../bench/examples/quick-result.json", import.meta.url);

function example(): Record<string, any> {
  return JSON.parse(readFileSync(EXAMPLE_PATH, "utf8"));
}

describe("bench result schema", () => {
  it("accepts a result the bench produced", () => {
    const result = parseBenchResult(example());
    expect(result.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    const systems = result.rows[0].results.map((r) => r.system).sort();
    expect(systems).toEqual(["limit", "tgt", "twinsan"]);
  });

  it("renders the Markdown table and the SVG plot of a result", () => {
    const result = parseBenchResult(example());
    const markdown = markdownReport(result);
    const svg = ratioChartSvg(result);
    for (const row of result.rows) {
      expect(markdown).toContain(`| ${row.label} | ${row.client} |`);
      expect(svg).toContain(row.label);
    }
    expect(svg.startsWith("<svg")).toBe(true);
  });

  it("refuses a broken result, naming the field", () => {
    const broken = example();
    broken.rows[0].results[1].iops = -5;
    delete broken.setup.rounds;
    expect(() => parseBenchResult(broken)).toThrow(/rows\.0\.results\.1\.iops/);
    expect(() => parseBenchResult(broken)).toThrow(/setup\.rounds/);
  });

  it("refuses a result of another schema version", () => {
    const other = { ...example(), schemaVersion: RESULT_SCHEMA_VERSION + 1 };
    expect(() => parseBenchResult(other)).toThrow(/schemaVersion/);
  });

  it("exports a JSON Schema of the same shape", () => {
    const schema = resultJsonSchema() as {
      required: string[];
      properties: Record<string, { const?: unknown }>;
    };
    expect(schema.required).toEqual(expect.arrayContaining(
      ["schema", "schemaVersion", "host", "setup", "rows"]));
    expect(schema.properties.schemaVersion.const).toBe(RESULT_SCHEMA_VERSION);
    for (const key of Object.keys(example())) expect(schema.properties).toHaveProperty(key);
  });
});
