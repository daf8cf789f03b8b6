// The sync journal's core: one bit per 64 KiB region of a device, set when a write lands while a
// partner is out of sync, scanned to resync only what changed. 1 TiB / 64 KiB = 16 Mi regions =
// 2 MiB of bitmap per partner, the size the journal sizing rule asks for.
import assert from "node:assert/strict";

export const DEFAULT_REGION_BYTES = 64 * 1024;
const WORD_BITS = 32;

export class DirtyRegionBitmap {
  readonly regionCount: number;
  private readonly words: Uint32Array;
  private dirtyRegions = 0;

  constructor(readonly deviceBytes: number, readonly regionBytes = DEFAULT_REGION_BYTES) {
    assert.ok(Number.isSafeInteger(deviceBytes) && deviceBytes > 0, "device size");
    assert.ok(Number.isSafeInteger(regionBytes) && regionBytes > 0, "region size");
    this.regionCount = Math.ceil(deviceBytes / regionBytes);
    this.words = new Uint32Array(Math.ceil(this.regionCount / WORD_BITS));
  }

  /** Regions now marked dirty. */
  get dirtyCount(): number {
    return this.dirtyRegions;
  }

  /** Bytes the bitmap itself takes (what a disk journal stores per partner). */
  get sizeBytes(): number {
    return this.words.byteLength;
  }

  /** Marks every region the byte range touches. */
  markRange(offsetBytes: number, lengthBytes: number): void {
    assert.ok(offsetBytes >= 0 && lengthBytes > 0 && offsetBytes + lengthBytes <= this.deviceBytes,
      "range outside the device");
    const first = Math.floor(offsetBytes / this.regionBytes);
    const last = Math.floor((offsetBytes + lengthBytes - 1) / this.regionBytes);
    for (let region = first; region <= last; region++) this.mark(region);
  }

  mark(region: number): void {
    this.assertRegion(region);
    const word = region >>> 5;
    const bit = 1 << (region & 31);
    if ((this.words[word] & bit) !== 0) return;
    this.words[word] |= bit;
    this.dirtyRegions++;
  }

  clear(region: number): void {
    this.assertRegion(region);
    const word = region >>> 5;
    const bit = 1 << (region & 31);
    if ((this.words[word] & bit) === 0) return;
    this.words[word] &= ~bit;
    this.dirtyRegions--;
  }

  isDirty(region: number): boolean {
    this.assertRegion(region);
    return (this.words[region >>> 5] & (1 << (region & 31))) !== 0;
  }

  /** The first dirty region at or after `fromRegion`, or -1: whole clean words are skipped. */
  nextDirty(fromRegion = 0): number {
    if (fromRegion >= this.regionCount) return -1;
    let word = fromRegion >>> 5;
    let bits = this.words[word] & (~0 << (fromRegion & 31));
    while (bits === 0) {
      word++;
      if (word >= this.words.length) return -1;
      bits = this.words[word];
    }
    const region = word * WORD_BITS + (31 - Math.clz32(bits & -bits));
    return region < this.regionCount ? region : -1;
  }

  /** The bitmap as bytes (little-endian words), for a disk journal; a copy. */
  toBuffer(): Buffer {
    return Buffer.from(this.words.buffer.slice(0));
  }

  /** Restores a bitmap saved by toBuffer for a device of the same size and region size. */
  static fromBuffer(deviceBytes: number, regionBytes: number, saved: Buffer): DirtyRegionBitmap {
    const bitmap = new DirtyRegionBitmap(deviceBytes, regionBytes);
    if (saved.length !== bitmap.sizeBytes) {
      throw new Error(`dirty bitmap is ${saved.length} bytes, expected ${bitmap.sizeBytes}`);
    }
    const copy = new Uint8Array(bitmap.words.buffer);
    copy.set(saved);
    for (let word = 0; word < bitmap.words.length; word++) {
      const value = bitmap.words[word];
      if (value !== 0) bitmap.dirtyRegions += popcount(value);
    }
    const tailBits = bitmap.words.length * WORD_BITS - bitmap.regionCount;
    if (tailBits > 0 && (bitmap.words[bitmap.words.length - 1] >>> (WORD_BITS - tailBits)) !== 0) {
      throw new Error("dirty bitmap marks regions past the end of the device");
    }
    return bitmap;
  }

  private assertRegion(region: number): void {
    assert.ok(Number.isInteger(region) && region >= 0 && region < this.regionCount,
      `region ${region} outside 0..${this.regionCount - 1}`);
  }
}

function popcount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
