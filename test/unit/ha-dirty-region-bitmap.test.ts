import { describe, expect, it } from "vitest";
import { DirtyRegionBitmap } from "../../src/ha/dirty-region-bitmap.ts";

const KiB = 1024;
const TiB = 1024 ** 4;

describe("DirtyRegionBitmap", () => {
  it("takes 2 MiB per TiB at 64 KiB regions", () => {
    expect(new DirtyRegionBitmap(TiB).sizeBytes).toBe(2 * 1024 * 1024);
  });

  it("marks every region a byte range touches and counts them once", () => {
    const bitmap = new DirtyRegionBitmap(1024 * KiB);
    bitmap.markRange(60 * KiB, 8 * KiB); // regions 0 and 1
    bitmap.markRange(64 * KiB, 512); // region 1 again
    bitmap.markRange(1024 * KiB - 512, 512); // the last region, 15
    expect(bitmap.dirtyCount).toBe(3);
    expect([0, 1, 2, 15].map((r) => bitmap.isDirty(r))).toEqual([true, true, false, true]);
    expect(() => bitmap.markRange(1024 * KiB - 512, 1024)).toThrow(/outside/);
  });

  it("scans to the next dirty region across clean words, and clears", () => {
    const bitmap = new DirtyRegionBitmap(64 * KiB * 1000);
    for (const region of [3, 31, 32, 500, 999]) bitmap.mark(region);
    const found: number[] = [];
    for (let r = bitmap.nextDirty(0); r !== -1; r = bitmap.nextDirty(r + 1)) found.push(r);
    expect(found).toEqual([3, 31, 32, 500, 999]);
    bitmap.clear(500);
    bitmap.clear(500);
    expect(bitmap.nextDirty(33)).toBe(999);
    expect(bitmap.dirtyCount).toBe(4);
    expect(bitmap.nextDirty(1000)).toBe(-1);
  });

  it("agrees with a plain set under random marks and clears", () => {
    const regions = 5000;
    const bitmap = new DirtyRegionBitmap(64 * KiB * regions);
    const model = new Set<number>();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) % regions;
    for (let i = 0; i < 20_000; i++) {
      const region = random();
      if (i % 3 === 0) {
        bitmap.clear(region);
        model.delete(region);
      } else {
        bitmap.mark(region);
        model.add(region);
      }
    }
    const found: number[] = [];
    for (let r = bitmap.nextDirty(); r !== -1; r = bitmap.nextDirty(r + 1)) found.push(r);
    expect(found).toEqual([...model].sort((a, b) => a - b));
    expect(bitmap.dirtyCount).toBe(model.size);
  });

  it("round-trips through bytes and refuses a bitmap of another size", () => {
    const bitmap = new DirtyRegionBitmap(64 * KiB * 100);
    bitmap.mark(7);
    bitmap.mark(99);
    const restored = DirtyRegionBitmap.fromBuffer(64 * KiB * 100, 64 * KiB, bitmap.toBuffer());
    expect(restored.dirtyCount).toBe(2);
    expect(restored.nextDirty(8)).toBe(99);
    expect(() => DirtyRegionBitmap.fromBuffer(64 * KiB * 200, 64 * KiB, bitmap.toBuffer()))
      .toThrow(/expected/);
    const corrupt = bitmap.toBuffer();
    corrupt[corrupt.length - 1] = 0xff; // bits past region 99
    expect(() => DirtyRegionBitmap.fromBuffer(64 * KiB * 100, 64 * KiB, corrupt))
      .toThrow(/past the end/);
  });
});
