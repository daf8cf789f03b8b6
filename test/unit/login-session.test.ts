import { describe, expect, it } from "vitest";
import { chapResponse } from "../../src/iscsi/login/chap.ts";
import {
  LoginStateMachine, type LoginContext, type LoginStep, type LoginTarget,
} from "../../src/iscsi/login/login-session.ts";
import type { LoginRequestPdu } from "../../src/iscsi/pdu-types.ts";
import { encodeTextData, parseTextData, type TextPair } from "../../src/iscsi/text-codec.ts";

const INITIATOR = "iqn.1994-05.com.example:host1";
const TARGET = "iqn.2024-01.org.twinsan:disk1";
const ISID = Buffer.from([0x80, 0x12, 0x34, 0x56, 0x00, 0x01]);
const CHALLENGE = Buffer.alloc(16, 0xab);
const CHAP = { username: "host1", secret: "host1-secret-12" };

const SECURITY = 0;
const OPERATIONAL = 1;
const FULL_FEATURE = 3;

function makeTarget(overrides: Partial<LoginTarget> = {}): LoginTarget {
  return { iqn: TARGET, allowedInitiators: [], portalGroupTags: [1], ...overrides };
}

function machine(
  target: LoginTarget | null = makeTarget(), overrides: Partial<LoginContext> = {},
): LoginStateMachine {
  const randomChunks = [Buffer.from([42]), CHALLENGE];
  return new LoginStateMachine({
    portal: { portalGroupTag: 1, address: "192.0.2.1", port: 3260 },
    findTarget: (iqn) => (target !== null && iqn === target.iqn ? target : undefined),
    allocateTsih: () => 0x1234,
    randomBytes: (size) => {
      const chunk = randomChunks.shift();
      if (chunk === undefined || chunk.length !== size) throw new Error(`asked ${size} bytes`);
      return chunk;
    },
    ...overrides,
  });
}

interface RequestOptions {
  csg: number;
  nsg?: number;
  transit?: boolean;
  continue?: boolean;
  pairs?: TextPair[];
  data?: Buffer;
  tsih?: number;
  versionMin?: number;
  versionMax?: number;
  isid?: Buffer;
  itt?: number;
}

function request(options: RequestOptions): LoginRequestPdu {
  const transit = options.transit ?? options.nsg !== undefined;
  return {
    immediate: true,
    transit,
    continue: options.continue ?? false,
    csg: options.csg,
    nsg: options.nsg ?? 0,
    versionMax: options.versionMax ?? 0,
    versionMin: options.versionMin ?? 0,
    isid: options.isid ?? ISID,
    tsih: options.tsih ?? 0,
    itt: options.itt ?? 7,
    cid: 1,
    cmdSN: 100,
    expStatSN: 0,
    data: options.data ?? encodeTextData(options.pairs ?? []),
  };
}

function pairsOf(step: LoginStep): TextPair[] {
  return parseTextData(step.data);
}

function valueOf(step: LoginStep, key: string): string | undefined {
  return pairsOf(step).find(([name]) => name === key)?.[1];
}

const FIRST_PAIRS: TextPair[] = [
  ["InitiatorName", INITIATOR], ["SessionType", "Normal"], ["TargetName", TARGET],
];

function expectStatus(step: LoginStep, status: number): void {
  expect((step.response.statusClass << 8) | step.response.statusDetail).toBe(status);
  expect(step.fail).toBe(status !== 0);
}

describe("login without CHAP", () => {
  it("goes security -> operational -> full feature", () => {
    const login = machine();
    const first = login.handle(request({
      csg: SECURITY, nsg: OPERATIONAL, pairs: [...FIRST_PAIRS, ["AuthMethod", "None"]],
    }));
    expectStatus(first, 0);
    expect(first.response).toMatchObject({
      transit: true, continue: false, csg: SECURITY, nsg: OPERATIONAL, tsih: 0, itt: 7,
      versionMax: 0, versionActive: 0,
    });
    expect(first.response.isid).toEqual(ISID);
    expect(pairsOf(first)).toEqual([["TargetPortalGroupTag", "1"], ["AuthMethod", "None"]]);

    const second = login.handle(request({
      csg: OPERATIONAL, nsg: FULL_FEATURE, pairs: [
        ["HeaderDigest", "CRC32C,None"], ["DataDigest", "None"], ["MaxBurstLength", "16776192"],
        ["MaxRecvDataSegmentLength", "65536"], ["ImmediateData", "Yes"], ["InitialR2T", "No"],
      ],
    }));
    expectStatus(second, 0);
    expect(second.response).toMatchObject(
      { transit: true, csg: OPERATIONAL, nsg: FULL_FEATURE, tsih: 0x1234 });
    expect(pairsOf(second)).toEqual([
      ["HeaderDigest", "CRC32C"], ["DataDigest", "None"], ["MaxBurstLength", "1048576"],
      ["ImmediateData", "Yes"], ["InitialR2T", "No"], ["MaxRecvDataSegmentLength", "262144"],
    ]);
    expect(second.done).toMatchObject({
      sessionType: "Normal", initiatorName: INITIATOR, targetName: TARGET, tsih: 0x1234, cid: 1,
      sessionParams: { maxBurstLength: 1048576, initialR2T: false, immediateData: true },
      connectionParams: { headerDigest: true, dataDigest: false,
        targetMaxRecvDataSegmentLength: 262144, initiatorMaxRecvDataSegmentLength: 65536 },
    });
    expect(() => login.handle(request({ csg: OPERATIONAL }))).toThrow();
  });

  it("starts in the operational stage when the initiator skips security", () => {
    const login = machine(makeTarget({ alias: "disk one" }));
    const step = login.handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE, pairs: FIRST_PAIRS }));
    expectStatus(step, 0);
    expect(pairsOf(step)).toEqual([
      ["TargetPortalGroupTag", "1"], ["MaxRecvDataSegmentLength", "262144"],
      ["TargetAlias", "disk one"],
    ]);
    expect(step.done?.sessionParams.maxBurstLength).toBe(262144);
  });

  it("goes through operational when asked to go from security to full feature", () => {
    const login = machine();
    const first = login.handle(request({
      csg: SECURITY, nsg: FULL_FEATURE, pairs: [...FIRST_PAIRS, ["AuthMethod", "None"]],
    }));
    expect(first.response).toMatchObject({ transit: true, nsg: OPERATIONAL });
    expect(first.done).toBeNull();
    const second = login.handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE }));
    expect(second.done).not.toBeNull();
  });

  it("does not transit unless the initiator asks", () => {
    const login = machine();
    const first = login.handle(request({ csg: SECURITY, pairs: [...FIRST_PAIRS,
      ["AuthMethod", "None"]] }));
    expect(first.response).toMatchObject({ transit: false, nsg: 0, csg: SECURITY });
    const second = login.handle(request({ csg: SECURITY, nsg: OPERATIONAL }));
    expect(second.response).toMatchObject({ transit: true, nsg: OPERATIONAL });
    expect(pairsOf(second)).toEqual([]);
    const third = login.handle(request({ csg: OPERATIONAL, pairs: [["MaxBurstLength", "65536"]] }));
    expect(third.response).toMatchObject({ transit: false });
    const fourth = login.handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE }));
    expect(fourth.done?.sessionParams.maxBurstLength).toBe(65536);
  });

  it("logs in a discovery session without a target", () => {
    const login = machine(null);
    const step = login.handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE, pairs: [
      ["InitiatorName", INITIATOR], ["SessionType", "Discovery"], ["MaxBurstLength", "65536"],
    ] }));
    expectStatus(step, 0);
    expect(pairsOf(step)).toEqual([
      ["MaxBurstLength", "Irrelevant"], ["MaxRecvDataSegmentLength", "262144"],
    ]);
    expect(step.done).toMatchObject({ sessionType: "Discovery", targetName: undefined });
  });

  it("stays in operational until the initiator answers the target's offers", () => {
    const login = machine(makeTarget(), { limits: {
      maxRecvDataSegmentLength: 65536, maxBurstLength: 131072, firstBurstLength: 65536,
      maxOutstandingR2T: 1, maxConnections: 1, errorRecoveryLevel: 0, defaultTime2Wait: 2,
      defaultTime2Retain: 20, initialR2T: false, immediateData: true, dataPDUInOrder: true,
      dataSequenceInOrder: true, supportedDigests: ["None"],
    } });
    const first = login.handle(
      request({ csg: OPERATIONAL, nsg: FULL_FEATURE, pairs: FIRST_PAIRS }));
    expect(first.response).toMatchObject({ transit: false });
    expect(valueOf(first, "MaxBurstLength")).toBe("131072");
    const second = login.handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE,
      pairs: [["MaxBurstLength", "131072"]] }));
    expect(second.done?.sessionParams.maxBurstLength).toBe(131072);
  });
});

describe("login with CHAP", () => {
  function chapLogin(config = CHAP): LoginStateMachine {
    return machine(makeTarget({ chap: config }));
  }

  function authenticate(login: LoginStateMachine, extra: TextPair[] = []): LoginStep {
    const first = login.handle(request({
      csg: SECURITY, nsg: OPERATIONAL, pairs: [...FIRST_PAIRS, ["AuthMethod", "None,CHAP"]],
    }));
    expectStatus(first, 0);
    expect(first.response.transit).toBe(false);
    expect(pairsOf(first)).toEqual([["TargetPortalGroupTag", "1"], ["AuthMethod", "CHAP"]]);
    const challenge = login.handle(request({ csg: SECURITY, pairs: [["CHAP_A", "5"]] }));
    expect(pairsOf(challenge)).toEqual([
      ["CHAP_A", "5"], ["CHAP_I", "42"], ["CHAP_C", `0x${CHALLENGE.toString("hex")}`],
    ]);
    const response = chapResponse(5, 42, CHAP.secret, CHALLENGE).toString("hex");
    return login.handle(request({ csg: SECURITY, nsg: OPERATIONAL, pairs: [
      ["CHAP_N", CHAP.username], ["CHAP_R", `0x${response}`], ...extra,
    ] }));
  }

  it("authenticates, then negotiates and enters full feature", () => {
    const login = chapLogin();
    const third = authenticate(login);
    expectStatus(third, 0);
    expect(third.response).toMatchObject({ transit: true, nsg: OPERATIONAL });
    expect(pairsOf(third)).toEqual([]);
    const final = login.handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE }));
    expect(final.done?.tsih).toBe(0x1234);
  });

  it("answers mutual CHAP", () => {
    const mutual = { username: "twinsan", secret: "target-secret-9" };
    const login = machine(makeTarget({ chap: { ...CHAP, mutual } }));
    const third = authenticate(login, [["CHAP_I", "3"], ["CHAP_C", "0x0102030405060708"]]);
    const expected = chapResponse(5, 3, mutual.secret, Buffer.from("0102030405060708", "hex"));
    expect(pairsOf(third)).toEqual([
      ["CHAP_N", "twinsan"], ["CHAP_R", `0x${expected.toString("hex")}`],
    ]);
    expect(third.response.transit).toBe(true);
  });

  it("fails a wrong response with 0x0201", () => {
    const login = chapLogin();
    login.handle(request({ csg: SECURITY, pairs: [...FIRST_PAIRS, ["AuthMethod", "CHAP"]] }));
    login.handle(request({ csg: SECURITY, pairs: [["CHAP_A", "5"]] }));
    const step = login.handle(request({ csg: SECURITY, nsg: OPERATIONAL, pairs: [
      ["CHAP_N", CHAP.username], ["CHAP_R", `0x${"00".repeat(16)}`],
    ] }));
    expectStatus(step, 0x0201);
    expect(step.data.length).toBe(0);
  });

  it("fails an initiator offering only None, or skipping security, with 0x0201", () => {
    expectStatus(chapLogin().handle(request({ csg: SECURITY, nsg: OPERATIONAL,
      pairs: [...FIRST_PAIRS, ["AuthMethod", "None"]] })), 0x0201);
    expectStatus(chapLogin().handle(request({ csg: SECURITY, nsg: OPERATIONAL,
      pairs: FIRST_PAIRS })), 0x0201);
    expectStatus(chapLogin().handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE,
      pairs: FIRST_PAIRS })), 0x0201);
  });

  it("uses the discovery CHAP for discovery sessions", () => {
    const login = machine(null, { discoveryChap: CHAP });
    const step = login.handle(request({ csg: SECURITY, nsg: OPERATIONAL, pairs: [
      ["InitiatorName", INITIATOR], ["SessionType", "Discovery"], ["AuthMethod", "CHAP,None"],
    ] }));
    expect(pairsOf(step)).toEqual([["AuthMethod", "CHAP"]]);
  });

  it("refuses CHAP keys when CHAP was not chosen", () => {
    const login = machine();
    const step = login.handle(request({ csg: SECURITY, pairs: [...FIRST_PAIRS,
      ["AuthMethod", "None"], ["CHAP_A", "5"]] }));
    expectStatus(step, 0x0200);
  });
});

describe("continued requests", () => {
  it("joins text split across PDUs, even inside a key", () => {
    const login = machine();
    const text = encodeTextData([...FIRST_PAIRS, ["AuthMethod", "None"],
      ["X-com.example.Long", "y".repeat(200)]]);
    const cut = text.indexOf("TargetName") + 4;
    const part1 = login.handle(
      request({ csg: SECURITY, continue: true, data: text.subarray(0, cut) }));
    expectStatus(part1, 0);
    expect(part1.response).toMatchObject({ transit: false, continue: false, csg: SECURITY });
    expect(part1.data.length).toBe(0);
    const part2 = login.handle(request({ csg: SECURITY, nsg: OPERATIONAL,
      data: text.subarray(cut) }));
    expectStatus(part2, 0);
    expect(pairsOf(part2)).toEqual([
      ["TargetPortalGroupTag", "1"], ["X-com.example.Long", "NotUnderstood"],
      ["AuthMethod", "None"],
    ]);
  });

  it("refuses both T and C bits", () => {
    const step = machine().handle(request({ csg: SECURITY, nsg: OPERATIONAL, continue: true,
      pairs: FIRST_PAIRS }));
    expectStatus(step, 0x0200);
  });
});

describe("login failures", () => {
  const cases: Array<[string, () => LoginStep, number]> = [
    ["unsupported version", () => machine().handle(request({ csg: SECURITY, versionMin: 1,
      versionMax: 2, pairs: FIRST_PAIRS })), 0x0205],
    ["missing InitiatorName", () => machine().handle(request({ csg: SECURITY,
      pairs: [["TargetName", TARGET]] })), 0x0207],
    ["missing TargetName", () => machine().handle(request({ csg: SECURITY,
      pairs: [["InitiatorName", INITIATOR]] })), 0x0207],
    ["unknown target", () => machine(null).handle(request({ csg: SECURITY,
      pairs: FIRST_PAIRS })), 0x0203],
    ["target not at this portal group", () => machine(makeTarget({ portalGroupTags: [2] }))
      .handle(request({ csg: SECURITY, pairs: FIRST_PAIRS })), 0x0203],
    ["removed target", () => machine(makeTarget({ availability: "removed" }))
      .handle(request({ csg: SECURITY, pairs: FIRST_PAIRS })), 0x0204],
    ["unavailable target", () => machine(makeTarget({ availability: "unavailable" }))
      .handle(request({ csg: SECURITY, pairs: FIRST_PAIRS })), 0x0301],
    ["initiator not allowed", () => machine(makeTarget({ allowedInitiators: ["iqn.other"] }))
      .handle(request({ csg: SECURITY, pairs: FIRST_PAIRS })), 0x0202],
    ["unknown session type", () => machine().handle(request({ csg: SECURITY, pairs: [
      ["InitiatorName", INITIATOR], ["SessionType", "Backup"]] })), 0x0209],
    ["TSIH of no session", () => machine().handle(request({ csg: SECURITY, tsih: 9,
      pairs: FIRST_PAIRS })), 0x020a],
    ["second connection", () => machine(makeTarget(), { sessionExists: () => true })
      .handle(request({ csg: SECURITY, tsih: 9, pairs: FIRST_PAIRS })), 0x0206],
    ["full feature as current stage", () => machine().handle(request({ csg: FULL_FEATURE,
      pairs: FIRST_PAIRS })), 0x020b],
    ["next stage not after current", () => machine().handle(request({ csg: OPERATIONAL,
      nsg: OPERATIONAL, pairs: FIRST_PAIRS })), 0x020b],
    ["reserved next stage", () => machine().handle(request({ csg: SECURITY, nsg: 2,
      pairs: FIRST_PAIRS })), 0x020b],
    ["malformed text", () => machine().handle(request({ csg: SECURITY,
      data: Buffer.from("InitiatorName\0") })), 0x0200],
    ["key twice in one request", () => machine().handle(request({ csg: SECURITY,
      data: Buffer.from(`InitiatorName=${INITIATOR}\0InitiatorName=x\0`) })), 0x0200],
    ["operational key in security stage", () => machine().handle(request({ csg: SECURITY,
      pairs: [...FIRST_PAIRS, ["MaxBurstLength", "65536"]] })), 0x0200],
    ["TSIH allocation throws", () => machine(makeTarget(), { allocateTsih: () => {
      throw new Error("out of TSIHs");
    } }).handle(request({ csg: OPERATIONAL, nsg: FULL_FEATURE, pairs: FIRST_PAIRS })), 0x0300],
  ];
  for (const [name, run, status] of cases) {
    it(`${name} -> 0x${status.toString(16).padStart(4, "0")}`, () => {
      const step = run();
      expectStatus(step, status);
      expect(step.done).toBeNull();
      expect(step.response.transit).toBe(false);
      expect(step.reason).toEqual(expect.any(String));
    });
  }

  it("fails a key negotiated again in a later request", () => {
    const login = machine();
    login.handle(
      request({ csg: OPERATIONAL, pairs: [...FIRST_PAIRS, ["MaxBurstLength", "1024"]] }));
    expectStatus(login.handle(request({ csg: OPERATIONAL, pairs: [["MaxBurstLength", "1024"]] })),
      0x0200);
  });

  it("fails identity keys after the first request", () => {
    const login = machine();
    login.handle(request({ csg: OPERATIONAL, pairs: [["InitiatorName", INITIATOR],
      ["TargetName", TARGET]] }));
    expectStatus(login.handle(request({ csg: OPERATIONAL, pairs: [["SessionType", "Normal"]] })),
      0x0200);
  });

  it("fails a request that changes stage without a transition, or changes the ISID", () => {
    const login = machine();
    login.handle(request({ csg: SECURITY, pairs: [...FIRST_PAIRS, ["AuthMethod", "None"]] }));
    expectStatus(login.handle(request({ csg: OPERATIONAL })), 0x020b);
    const other = machine();
    other.handle(request({ csg: SECURITY, pairs: [...FIRST_PAIRS, ["AuthMethod", "None"]] }));
    expectStatus(other.handle(request({ csg: SECURITY, isid: Buffer.alloc(6) })), 0x0200);
  });

  it("echoes each request's ITT", () => {
    const login = machine();
    login.handle(request({ csg: SECURITY, pairs: [...FIRST_PAIRS, ["AuthMethod", "None"]] }));
    expect(login.handle(request({ csg: SECURITY, nsg: OPERATIONAL, itt: 8 })).response.itt)
      .toBe(8);
  });
});
