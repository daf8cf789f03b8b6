// Mode pages (SPC-4 7.5, SBC-3 6.4): their current, changeable and default values. Only WCE in
// the Caching page is changeable; the rest describe fixed behaviour.

import { ModePage, PageControl } from "./constants.ts";
import { invalidFieldInParameterList } from "./sense.ts";

export interface ModeParameters {
  writeCacheEnabled: boolean;
}

export type ModePagesSnapshot = ModeParameters;

/** CACHING page byte 2 bit: WRITE CACHE ENABLE. */
const WCE = 0x04;
const PAGE_HEADER_LENGTH = 2;
const SUBPAGE_FORMAT = 0x40;
const PAGE_CODE_MASK = 0x3f;

function cachingPage(values: ModeParameters): Buffer {
  const page = Buffer.alloc(20);
  page[0] = ModePage.CACHING;
  page[1] = page.length - PAGE_HEADER_LENGTH;
  page[2] = values.writeCacheEnabled ? WCE : 0;
  return page;
}

function controlPage(): Buffer {
  const page = Buffer.alloc(12);
  page[0] = ModePage.CONTROL;
  page[1] = page.length - PAGE_HEADER_LENGTH;
  page[2] = 0x02; // GLTSD: no log parameters are saved
  page[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: simple commands may be reordered
  page.writeUInt16BE(0xffff, 8); // BUSY TIMEOUT PERIOD: unlimited
  return page;
}

function informationalExceptionsControlPage(): Buffer {
  const page = Buffer.alloc(12);
  page[0] = ModePage.INFORMATIONAL_EXCEPTIONS_CONTROL;
  page[1] = page.length - PAGE_HEADER_LENGTH;
  page[2] = 0x08; // DEXCPT: informational exceptions are not reported
  return page;
}

/** The changeable-values view: header as usual, a one bit wherever MODE SELECT may write. */
function changeableMask(pageCode: number): Buffer {
  const page = encodePage(pageCode, { writeCacheEnabled: false });
  page.fill(0, PAGE_HEADER_LENGTH);
  if (pageCode === ModePage.CACHING) page[2] = WCE;
  return page;
}

function encodePage(pageCode: number, values: ModeParameters): Buffer {
  switch (pageCode) {
    case ModePage.CACHING:
      return cachingPage(values);
    case ModePage.CONTROL:
      return controlPage();
    case ModePage.INFORMATIONAL_EXCEPTIONS_CONTROL:
      return informationalExceptionsControlPage();
    default:
      throw new Error(`mode page 0x${pageCode.toString(16)} is not implemented`);
  }
}

export class ModePages {
  /** Page codes this logical unit implements, ascending (the order RETURN ALL PAGES uses). */
  static readonly pageCodes: readonly number[] = [
    ModePage.CACHING,
    ModePage.CONTROL,
    ModePage.INFORMATIONAL_EXCEPTIONS_CONTROL,
  ];

  private current: ModeParameters;

  constructor(private readonly defaults: ModeParameters) {
    this.current = { ...defaults };
  }

  get writeCacheEnabled(): boolean {
    return this.current.writeCacheEnabled;
  }

  static implements(pageCode: number): boolean {
    return ModePages.pageCodes.includes(pageCode);
  }

  /** One page as MODE SENSE returns it; SAVED is rejected by the caller before this. */
  encode(pageCode: number, pageControl: number): Buffer {
    switch (pageControl) {
      case PageControl.CHANGEABLE:
        return changeableMask(pageCode);
      case PageControl.DEFAULT:
        return encodePage(pageCode, this.defaults);
      default:
        return encodePage(pageCode, this.current);
    }
  }

  /**
   * Applies the mode pages of a MODE SELECT parameter list (after header and block descriptors),
   * all or nothing. `listOffset` locates `pages` in the list for the sense field pointer.
   * Returns whether any current value changed.
   */
  select(pages: Buffer, listOffset: number): boolean {
    const next: ModeParameters = { ...this.current };
    let offset = 0;
    while (offset < pages.length) {
      if (pages.length - offset < PAGE_HEADER_LENGTH) {
        throw invalidFieldInParameterList(listOffset + offset);
      }
      const pageCode = pages[offset] & PAGE_CODE_MASK;
      if (pages[offset] & SUBPAGE_FORMAT || !ModePages.implements(pageCode)) {
        throw invalidFieldInParameterList(listOffset + offset);
      }
      const expected = encodePage(pageCode, this.current);
      if (pages[offset + 1] !== expected[1]) {
        throw invalidFieldInParameterList(listOffset + offset + 1);
      }
      if (offset + expected.length > pages.length) {
        throw invalidFieldInParameterList(listOffset + offset + 1);
      }
      const mask = changeableMask(pageCode);
      for (let i = PAGE_HEADER_LENGTH; i < expected.length; i++) {
        const stray = (pages[offset + i] ^ expected[i]) & ~mask[i] & 0xff;
        if (stray !== 0) {
          throw invalidFieldInParameterList(listOffset + offset + i, 31 - Math.clz32(stray));
        }
      }
      if (pageCode === ModePage.CACHING) next.writeCacheEnabled = (pages[offset + 2] & WCE) !== 0;
      offset += expected.length;
    }
    const changed = next.writeCacheEnabled !== this.current.writeCacheEnabled;
    this.current = next;
    return changed;
  }

  /** Back to default values, as after a logical unit reset (nothing is ever saved). */
  reset(): void {
    this.current = { ...this.defaults };
  }

  snapshot(): ModePagesSnapshot {
    return { ...this.current };
  }

  restore(snapshot: ModePagesSnapshot): void {
    this.current = { writeCacheEnabled: snapshot.writeCacheEnabled === true };
  }
}
