import { describe, expect, it } from "vitest";
import { CommandWindow } from "../../src/iscsi/command-window.ts";
import { snInWindow, snLessThan } from "../../src/iscsi/serial-number.ts";

describe("CommandWindow", () => {
  it("delivers in CmdSN order and holds commands that arrive early", () => {
    const window = new CommandWindow(10, 8);
    const delivered: number[] = [];
    expect(window.accept(12, false, () => delivered.push(12))).toBe(true);
    expect(window.accept(11, false, () => delivered.push(11))).toBe(true);
    expect(delivered).toEqual([]);
    expect(window.accept(10, false, () => delivered.push(10))).toBe(true);
    expect(delivered).toEqual([10, 11, 12]);
    expect(window.expected).toBe(13);
    expect(window.max).toBe(20);
  });

  it("drops commands below ExpCmdSN and above MaxCmdSN", () => {
    const window = new CommandWindow(100, 4);
    const delivered: number[] = [];
    expect(window.accept(99, false, () => delivered.push(99))).toBe(false);
    expect(window.accept(104, false, () => delivered.push(104))).toBe(false);
    expect(window.accept(103, false, () => delivered.push(103))).toBe(true);
    expect(delivered).toEqual([]);
    expect(window.expected).toBe(100);
  });

  it("delivers immediate commands at once without advancing ExpCmdSN", () => {
    const window = new CommandWindow(5, 4);
    let ran = false;
    expect(window.accept(5, true, () => { ran = true; })).toBe(true);
    expect(ran).toBe(true);
    expect(window.expected).toBe(5);
  });

  it("wraps around 2^32", () => {
    const window = new CommandWindow(0xffffffff, 4);
    const delivered: number[] = [];
    window.accept(0, false, () => delivered.push(0));
    window.accept(0xffffffff, false, () => delivered.push(0xffffffff));
    expect(delivered).toEqual([0xffffffff, 0]);
    expect(window.expected).toBe(1);
    expect(snLessThan(0xfffffff0, 3)).toBe(true);
    expect(snInWindow(2, 0xfffffffe, 5)).toBe(true);
    expect(snInWindow(6, 0xfffffffe, 5)).toBe(false);
  });

  it("refuses a duplicate CmdSN waiting in the window", () => {
    const window = new CommandWindow(1, 8);
    expect(window.accept(3, false, () => undefined)).toBe(true);
    expect(window.accept(3, false, () => undefined)).toBe(false);
  });
});
