// CRC32C (Castagnoli, reflected polynomial 0x82f63b78), slicing-by-8.
// iSCSI sends the digest least significant byte first (RFC 7143 section 13.1, RFC 3720 B.4).

const REFLECTED_POLYNOMIAL = 0x82f63b78;
const SLICES = 8;

/** TABLES[k * 256 + b]: CRC of byte b followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(SLICES * 256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1 ? (crc >>> 1) ^ REFLECTED_POLYNOMIAL : crc >>> 1;
    }
    tables[b] = crc;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let b = 0; b < 256; b++) {
      const previous = tables[(k - 1) * 256 + b];
      tables[k * 256 + b] = (previous >>> 8) ^ tables[previous & 0xff];
    }
  }
  return tables;
}

/**
 * CRC32C of `buf`. Pass the result of a previous call as `seed` to continue over more bytes:
 * crc32c(b, crc32c(a)) === crc32c(concat(a, b)).
 */
export function crc32c(buf: Uint8Array, seed = 0): number {
  const t = TABLES;
  let crc = ~seed;
  let i = 0;
  const sliceEnd = buf.length - (buf.length % SLICES);
  while (i < sliceEnd) {
    const lo = crc ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    const hi = buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24);
    crc =
      t[1792 + (lo & 0xff)] ^
      t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^
      t[1024 + (lo >>> 24)] ^
      t[768 + (hi & 0xff)] ^
      t[512 + ((hi >>> 8) & 0xff)] ^
      t[256 + ((hi >>> 16) & 0xff)] ^
      t[hi >>> 24];
    i += SLICES;
  }
  while (i < buf.length) {
    crc = (crc >>> 8) ^ t[(crc ^ buf[i]) & 0xff];
    i++;
  }
  return ~crc >>> 0;
}
