// Text Request/Response exchanges in the full feature phase (RFC 7143 section 6.1.4):
// requests continued with the C bit are gathered, long responses are handed out in pieces the
// initiator fetches with the Target Transfer Tag. SendTargets is the one key answered here.
import * as C from "./constants.ts";
import type { TextRequestPdu } from "./pdu-types.ts";
import type { PortalConfig } from "../mgmt/config.ts";
import type { TargetRuntime } from "./target-runtime.ts";
import { encodeTextData, parseTextData } from "./text-codec.ts";
import { sendTargetsResponse } from "./login/discovery.ts";

/** Bounds what one exchange may gather from the initiator. */
const MAX_TEXT_REQUEST_BYTES = 64 * 1024;

export interface TextContext {
  maxSegmentBytes: number;
  allocateTtt(): number;
  targets: ReadonlyMap<string, TargetRuntime>;
  portals: readonly PortalConfig[];
  initiatorName: string;
  /** Null in a discovery session. */
  sessionTarget: TargetRuntime | null;
}

export interface TextReply {
  reject: boolean;
  final: boolean;
  continue: boolean;
  ttt: number;
  data: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class TextExchange {
  private requestParts: Buffer[] = [];
  private requestBytes = 0;
  private pending: { ttt: number; data: Buffer } | null = null;

  handle(request: TextRequestPdu, ctx: TextContext): TextReply {
    if (request.ttt !== C.RESERVED_TAG) {
      if (this.pending === null || this.pending.ttt !== request.ttt) return rejected();
      return this.nextPiece(ctx);
    }
    this.pending = null;
    this.requestParts.push(request.data);
    this.requestBytes += request.data.length;
    if (this.requestBytes > MAX_TEXT_REQUEST_BYTES) {
      this.reset();
      return rejected();
    }
    if (request.continue) {
      return { reject: false, final: false, continue: false, ttt: ctx.allocateTtt(), data: EMPTY };
    }
    const text = Buffer.concat(this.requestParts);
    this.reset();
    let pairs: Array<[string, string]>;
    try {
      pairs = parseTextData(text);
    } catch {
      return rejected();
    }
    this.pending = { ttt: C.RESERVED_TAG, data: encodeTextData(answer(pairs, ctx)) };
    return this.nextPiece(ctx);
  }

  private nextPiece(ctx: TextContext): TextReply {
    const pending = this.pending!;
    if (pending.data.length <= ctx.maxSegmentBytes) {
      this.pending = null;
      return { reject: false, final: true, continue: false, ttt: C.RESERVED_TAG,
        data: pending.data };
    }
    const ttt = ctx.allocateTtt();
    this.pending = { ttt, data: pending.data.subarray(ctx.maxSegmentBytes) };
    return { reject: false, final: false, continue: true, ttt,
      data: pending.data.subarray(0, ctx.maxSegmentBytes) };
  }

  private reset(): void {
    this.requestParts = [];
    this.requestBytes = 0;
  }
}

function answer(pairs: Array<[string, string]>, ctx: TextContext): Array<[string, string]> {
  const response: Array<[string, string]> = [];
  for (const [key, value] of pairs) {
    if (key === "SendTargets") {
      response.push(...sendTargetsResponse(value, {
        targets: [...ctx.targets.values()].map((t) => t.config),
        portals: ctx.portals,
        initiatorName: ctx.initiatorName,
        sessionTargetName: ctx.sessionTarget?.config.iqn,
      }));
    } else {
      response.push([key, "NotUnderstood"]);
    }
  }
  return response;
}

function rejected(): TextReply {
  return { reject: true, final: true, continue: false, ttt: C.RESERVED_TAG, data: EMPTY };
}
