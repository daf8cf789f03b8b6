import { describe, expect, it } from "vitest";
import { sendTargetsResponse } from "../../src/iscsi/login/discovery.ts";

const PORTALS = [
  { id: "a", address: "192.0.2.1", port: 3260, portalGroupTag: 1 },
  { id: "b", address: "2001:db8::1", port: 3261, portalGroupTag: 2 },
  { id: "any", address: "0.0.0.0", port: 3262, portalGroupTag: 3 },
];
const TARGETS = [
  { iqn: "iqn.2024-01.org.twinsan:open", portals: ["a", "b"], allowedInitiators: [] },
  { iqn: "iqn.2024-01.org.twinsan:closed", portals: ["a"], allowedInitiators: ["iqn.host2"] },
  { iqn: "iqn.2024-01.org.twinsan:wild", portals: ["any"], allowedInitiators: ["iqn.host1"] },
];
const ctx = { targets: TARGETS, portals: PORTALS, initiatorName: "iqn.host1" };

describe("sendTargetsResponse", () => {
  it("lists every target the initiator may see with all its portals", () => {
    expect(sendTargetsResponse("All", { ...ctx, localAddress: "198.51.100.7" })).toEqual([
      ["TargetName", "iqn.2024-01.org.twinsan:open"],
      ["TargetAddress", "192.0.2.1:3260,1"],
      ["TargetAddress", "[2001:db8::1]:3261,2"],
      ["TargetName", "iqn.2024-01.org.twinsan:wild"],
      ["TargetAddress", "198.51.100.7:3262,3"],
    ]);
  });

  it("lists one named target only when the initiator may see it", () => {
    expect(sendTargetsResponse("iqn.2024-01.org.twinsan:closed", ctx)).toEqual([]);
    expect(sendTargetsResponse("iqn.2024-01.org.twinsan:closed",
      { ...ctx, initiatorName: "iqn.host2" })).toEqual([
      ["TargetName", "iqn.2024-01.org.twinsan:closed"], ["TargetAddress", "192.0.2.1:3260,1"],
    ]);
    expect(sendTargetsResponse("iqn.nothing", ctx)).toEqual([]);
  });

  it("answers an empty value with the session's target, and All only in discovery", () => {
    const normal = { ...ctx, sessionTargetName: "iqn.2024-01.org.twinsan:open" };
    expect(sendTargetsResponse("", normal)[0]).toEqual(
      ["TargetName", "iqn.2024-01.org.twinsan:open"]);
    expect(sendTargetsResponse("", ctx)).toEqual([]);
    expect(sendTargetsResponse("All", normal)).toEqual([["SendTargets", "Reject"]]);
  });

  it("shows an IPv4-mapped local address bare", () => {
    const pairs = sendTargetsResponse("iqn.2024-01.org.twinsan:wild",
      { ...ctx, localAddress: "::ffff:10.0.0.5" });
    expect(pairs[1]).toEqual(["TargetAddress", "10.0.0.5:3262,3"]);
  });
});
