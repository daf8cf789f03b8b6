import { describe, expect, it } from "vitest";
import {
  BUCKET_COUNT,
  bucketMiddleNs,
  bucketOf,
  LatencyHistogram,
} from "../../bench/lib/histogram.ts";
import { compareWithBaseline } from "../../bench/micro/run.ts";

describe("bench latency histogram", () => {
  it("keeps every value within 1 % of its bucket middle", () => {
    for (const value of [1, 255, 256, 1000, 12_345, 999_999, 3_000_000_000]) {
      const middle = bucketMiddleNs(bucketOf(value));
      expect(Math.abs(middle - value) / value).toBeLessThan(0.01);
    }
    expect(bucketOf(2 ** 40)).toBe(BUCKET_COUNT - 1);
  });

  it("gives the percentiles of a known distribution", () => {
    const histogram = new LatencyHistogram();
    for (let us = 1; us <= 1000; us++) histogram.record(us * 1000);
    expect(histogram.percentileNs(50) / 1000).toBeCloseTo(500, -1);
    expect(histogram.percentileNs(99) / 1000).toBeCloseTo(990, -1);
    expect(histogram.percentileNs(99.9) / 1000).toBeCloseTo(999, -1);
    expect(histogram.percentileNs(100)).toBe(1_000_000);
  });

  it("merges through its sparse JSON form", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 100; i++) a.record(10_000);
    for (let i = 0; i < 100; i++) b.record(30_000);
    const merged = LatencyHistogram.fromSparse(a.toSparse(), a.maxNs);
    merged.merge(LatencyHistogram.fromSparse(b.toSparse(), b.maxNs));
    expect(merged.total).toBe(200);
    expect(merged.percentileNs(25)).toBeCloseTo(10_000, -2);
    expect(merged.percentileNs(75)).toBeCloseTo(30_000, -2);
  });
});

describe("bench micro regression check", () => {
  const baseline = { machine: "m", savedAt: "2026-01-01T00:00:00Z",
    opsPerSecond: { fast: 1000, slow: 1000 } };

  it("flags a drop of more than 15 % and nothing else", () => {
    const rows = compareWithBaseline({ fast: 860, slow: 840, fresh: 5 }, baseline);
    expect(rows.find((r) => r.name === "fast")?.regressed).toBe(false);
    expect(rows.find((r) => r.name === "slow")?.regressed).toBe(true);
    expect(rows.find((r) => r.name === "fresh")).toMatchObject({ change: null, regressed: false });
  });
});
