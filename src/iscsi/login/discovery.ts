// The answer to SendTargets (RFC 7143 section 13.3): each target the initiator
// may see, as TargetName=<iqn> followed by TargetAddress=<address>:<port>,<tpgt> per portal.
import type { PortalConfig, TargetConfig } from "../../mgmt/config.ts";
import type { TextPair } from "../text-codec.ts";
import { REJECT } from "./keys.ts";

export interface SendTargetsContext {
  targets: ReadonlyArray<Pick<TargetConfig, "iqn" | "portals" | "allowedInitiators">>;
  portals: ReadonlyArray<Pick<PortalConfig, "id" | "address" | "port" | "portalGroupTag">>;
  initiatorName: string;
  /** The target of a normal session; undefined in a discovery session. */
  sessionTargetName?: string;
  /** Address of the connection's local end, reported for portals bound to a wildcard. */
  localAddress?: string;
}

/**
 * value "All" lists every visible target (discovery sessions only), an iqn lists that target,
 * and an empty value lists the session's own target (normal sessions only).
 */
export function sendTargetsResponse(value: string, ctx: SendTargetsContext): TextPair[] {
  let wanted: string | undefined;
  if (value === "All") {
    if (ctx.sessionTargetName !== undefined) return [["SendTargets", REJECT]];
  } else if (value === "") {
    if (ctx.sessionTargetName === undefined) return [];
    wanted = ctx.sessionTargetName;
  } else {
    wanted = value;
  }
  const pairs: TextPair[] = [];
  for (const target of ctx.targets) {
    if (wanted !== undefined && target.iqn !== wanted) continue;
    if (!initiatorAllowed(target.allowedInitiators, ctx.initiatorName)) continue;
    pairs.push(["TargetName", target.iqn]);
    for (const portalId of target.portals) {
      const portal = ctx.portals.find((candidate) => candidate.id === portalId);
      if (portal === undefined) {
        throw new Error(`target ${target.iqn} names unknown portal ${portalId}`);
      }
      const address = formatAddress(reportedAddress(portal.address, ctx.localAddress));
      pairs.push(["TargetAddress", `${address}:${portal.port},${portal.portalGroupTag}`]);
    }
  }
  return pairs;
}

/** An empty list lets every initiator in. Names compare case-insensitively (RFC 3722). */
export function initiatorAllowed(allowed: readonly string[], initiatorName: string): boolean {
  return allowed.length === 0 || allowed.includes(initiatorName.toLowerCase());
}

function reportedAddress(address: string, localAddress: string | undefined): string {
  const wildcard = address === "0.0.0.0" || address === "::";
  return wildcard && localAddress !== undefined ? localAddress : address;
}

/** IPv6 literals go in brackets (RFC 7143 section 13.8); an IPv4-mapped address is shown bare. */
function formatAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  return address.includes(":") ? `[${address}]` : address;
}
