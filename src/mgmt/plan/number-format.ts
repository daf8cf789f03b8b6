// Numbers as people read them in findings: "26,000", "1.5 GiB", "12.3 s".

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${BYTE_UNITS[unit]}`;
}

/** At most 3 significant digits: 0.123, 4.5, 250. */
export function formatDecimal(value: number): string {
  return String(Number(value.toPrecision(3)));
}
