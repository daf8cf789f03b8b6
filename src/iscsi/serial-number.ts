// RFC 1982 serial number arithmetic on 32-bit sequence numbers (CmdSN, StatSN, DataSN).

export function snAdd(sn: number, delta: number): number {
  return (sn + delta) >>> 0;
}

/** a < b in serial arithmetic. */
export function snLessThan(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000;
}

/** lo <= sn <= hi in serial arithmetic. */
export function snInWindow(sn: number, lo: number, hi: number): boolean {
  return ((sn - lo) >>> 0) <= ((hi - lo) >>> 0);
}
