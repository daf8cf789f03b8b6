// Files of random data and their digests, for copying images through a target and back.
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";

const CHUNK_BYTES = 4 << 20;

/** Writes `sizeBytes` random bytes to `path`; returns their SHA-256 (hex). */
export async function writeRandomFile(path: string, sizeBytes: number): Promise<string> {
  const hash = createHash("sha256");
  const file = await open(path, "w");
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let written = 0; written < sizeBytes; written += CHUNK_BYTES) {
      const piece = chunk.subarray(0, Math.min(CHUNK_BYTES, sizeBytes - written));
      randomFillSync(piece);
      hash.update(piece);
      await file.write(piece, 0, piece.length, written);
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Offset of the first byte where `actual` differs from `expected`, or -1 if equal. */
export function firstDifference(expected: Buffer, actual: Buffer): number {
  if (expected.equals(actual)) return -1;
  const length = Math.min(expected.length, actual.length);
  for (let offset = 0; offset < length; offset++) {
    if (expected[offset] !== actual[offset]) return offset;
  }
  return length;
}
