// Byte comparison of the medium against Data-Out, and the MISCOMPARE sense data that reports the
// offset of the first difference (SBC-3 5.2 COMPARE AND WRITE).

import { Asc, SenseKey } from "./constants.ts";
import { SenseError } from "./sense.ts";

/** Offset of the first byte where `a` and `b` differ, or -1 when they are equal. */
export function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  let at = 0;
  while (a[at] === b[at]) at++;
  return at;
}

/** MISCOMPARE DURING VERIFY OPERATION with INFORMATION = the offset into the Data-Out buffer. */
export function miscompare(offset: number): SenseError {
  return new SenseError({
    key: SenseKey.MISCOMPARE,
    additional: Asc.MISCOMPARE_DURING_VERIFY_OPERATION,
    information: offset,
  });
}
