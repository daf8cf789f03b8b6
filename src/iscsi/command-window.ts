// CmdSN ordering for one session (RFC 7143 section 4.2.2.1): non-immediate commands are
// delivered in CmdSN order, commands outside [ExpCmdSN, MaxCmdSN] are silently dropped, and
// immediate commands bypass the queue without advancing ExpCmdSN.
import { snAdd, snInWindow } from "./serial-number.ts";

export type Deliver = () => void;

export class CommandWindow {
  private expCmdSN: number;
  private readonly waiting = new Map<number, Deliver>();

  constructor(initialCmdSN: number, private readonly depth: number) {
    if (depth < 1) throw new RangeError("command window depth must be >= 1");
    this.expCmdSN = initialCmdSN >>> 0;
  }

  get expected(): number {
    return this.expCmdSN;
  }

  /** MaxCmdSN announced to the initiator: the window shrinks while commands wait for a gap. */
  get max(): number {
    return snAdd(this.expCmdSN, this.depth - 1);
  }

  /** Returns false when the command was dropped (outside the window or a duplicate). */
  accept(cmdSN: number, immediate: boolean, deliver: Deliver): boolean {
    if (immediate) {
      deliver();
      return true;
    }
    if (!snInWindow(cmdSN, this.expCmdSN, this.max)) return false;
    if (cmdSN !== this.expCmdSN) {
      if (this.waiting.has(cmdSN)) return false;
      this.waiting.set(cmdSN, deliver);
      return true;
    }
    this.expCmdSN = snAdd(this.expCmdSN, 1);
    deliver();
    this.deliverWaiting();
    return true;
  }

  private deliverWaiting(): void {
    for (;;) {
      const next = this.waiting.get(this.expCmdSN);
      if (next === undefined) return;
      this.waiting.delete(this.expCmdSN);
      this.expCmdSN = snAdd(this.expCmdSN, 1);
      next();
    }
  }
}
