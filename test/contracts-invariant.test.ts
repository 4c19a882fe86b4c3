import fc from "fast-check";
import { id, parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeContractError } from "../chain/errors.ts";
import { eventsIn } from "../chain/events.ts";
import { challengeArgs, findPendingSegment, NotChallengeableError } from "../chain/challenge.ts";
import { laneAfterFor } from "../chain/lane-order.ts";
import { DEFAULT_ENERGY_RULE, proveChallenge } from "../challenge/index.ts";
import type { PlausibilityChallenge } from "../contracts/index.ts";
import { toSubmissionInput } from "../chain/submission.ts";
import type { WorkerKey } from "../trace/index.ts";
import {
  baseFixture,
  createJobAt,
  payoutOf,
  PRICE,
  proveLane,
  registerWorker,
  T0,
  testWorkerKey,
  GRACE_S,
  type BaseFixture,
  type ProvenLane,
} from "./helpers/escrow-fixture.ts";
import { closeProver } from "./helpers/segment-proof.ts";

/**
 * Random sequences of escrow actions (submit the next segments of a lane in any order across
 * jobs, replay one, fund, withdraw, close, create a job, pause or unpause, let time pass)
 * against a model of the escrow, with real pre-generated proofs. After every action: paid +
 * refunded + held == deposited for every job and overall, the escrow's token balance is what
 * it holds plus what it owes the provider, no lane head moves backwards, and no millisecond of
 * a worker is billed in two lanes.
 */

const EXPIRY = T0 + 3600;
const START = T0 + 600;
/** How far one "advance" moves the clock. Model times are exact to within seconds of drift
 * (each block adds a second or so); every closing deadline stays thousands of seconds away
 * from the model's clock, so the drift never decides an outcome. */
const ADVANCE_S = 10_000;
const CREATED_EXPIRY = T0 + 100_000;
const OPEN_END = (1n << 64n) - 1n;
const WEIGHTS = { H100: 10_000n, A100: 4_000n };
const EVIDENCE = id("implausible telemetry");

interface LaneSpec {
  lane: ProvenLane;
  weight: bigint;
}

let f: BaseFixture;
let lanes: LaneSpec[];
let budgets: bigint[];
let snapshot: string;

beforeAll(async () => {
  f = await baseFixture();
  const [wa, wb] = (await Promise.all([testWorkerKey("inv-a"), testWorkerKey("inv-b")])) as [
    WorkerKey,
    WorkerKey,
  ];
  await registerWorker(f, f.provider, wa, "H100", "inv-a");
  await registerWorker(f, f.provider, wb, "A100", "inv-b");
  const p = f.provider.address;
  const ms = T0 * 1000;
  // Worker a's lane in job 2 overlaps its lane in job 1, so the first of them to start wins;
  // its lane in job 3 comes after both, and worker b's two lanes are disjoint: submitted in
  // any order, those must all be paid.
  const spec = [
    { jobId: 1n, key: wa, startMs: ms + 1_000, records: 24, deviceClass: "H100", weight: WEIGHTS.H100 },
    { jobId: 1n, key: wb, startMs: ms + 1_000, records: 16, deviceClass: "A100", weight: WEIGHTS.A100 },
    { jobId: 2n, key: wa, startMs: ms + 61_000, records: 16, deviceClass: "H100", weight: WEIGHTS.H100 },
    { jobId: 2n, key: wb, startMs: ms + 100_000, records: 8, deviceClass: "A100", weight: WEIGHTS.A100 },
    { jobId: 3n, key: wa, startMs: ms + 150_000, records: 16, deviceClass: "H100", weight: WEIGHTS.H100 },
  ];
  lanes = [];
  for (const s of spec) {
    lanes.push({ lane: await proveLane(f, { ...s, provider: p, expiry: EXPIRY }), weight: s.weight });
  }
  const total = (jobId: bigint) =>
    lanes
      .filter((l) => l.lane.jobId === jobId)
      .flatMap((l) => l.lane.segments.map((seg) => payoutOf(seg, l.weight)))
      .reduce((a, b) => a + b, 0n);
  // Job 1 cannot pay for all its work, so caps happen; jobs 2 and 3 can.
  budgets = [(total(1n) * 6n) / 10n, total(2n) * 2n, total(3n) * 2n];
  for (const [i, budget] of budgets.entries()) {
    const jobId = await createJobAt(f, { at: T0 + i, provider: p, budget, expiry: EXPIRY });
    expect(jobId).toBe(BigInt(i + 1));
  }
  await f.chain.mineAt(START);
  snapshot = await f.chain.snapshot();
});

afterAll(async () => {
  await closeProver();
  await f?.connection.close();
});

type Action =
  | { kind: "pause" }
  | { kind: "submit"; lane: number; count: 1 | 2 }
  | { kind: "replay"; lane: number }
  | { kind: "fund"; job: number; amount: bigint }
  | { kind: "withdraw" }
  | { kind: "close"; job: number; byProvider: boolean }
  | { kind: "create"; amount: bigint }
  | { kind: "advance" };

const amount = fc.bigInt({ min: 1n, max: parseEther("0.01") });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("submit" as const),
      lane: fc.nat(4),
      count: fc.constantFrom(1 as const, 2 as const),
    }),
    weight: 7,
  },
  { arbitrary: fc.record({ kind: fc.constant("replay" as const), lane: fc.nat(4) }), weight: 1 },
  { arbitrary: fc.constant({ kind: "pause" as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("fund" as const), job: fc.nat(3), amount }), weight: 2 },
  { arbitrary: fc.constant({ kind: "withdraw" as const }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("close" as const), job: fc.nat(3), byProvider: fc.boolean() }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("create" as const), amount }), weight: 1 },
  { arbitrary: fc.constant({ kind: "advance" as const }), weight: 1 },
);

interface ModelJob {
  deposited: bigint;
  paid: bigint;
  refunded: bigint;
  remaining: bigint;
  closed: boolean;
  expiry: number;
  /** Paused seconds when the job was created: later pauses extend its close time. */
  pausedAtCreation: number;
}

/** A started lane's billed span and where the worker's next lane starts. */
interface ModelLane {
  start: bigint;
  end: bigint;
  nextStart: bigint;
}

class Model {
  jobs: ModelJob[];
  next = [0, 0, 0, 0, 0];
  /** Started lanes by lane index (lanes of both workers; a worker's are found by key). */
  started = new Map<number, ModelLane>();
  owed = 0n;
  withdrawn = 0n;
  now = START;
  /** Lanes started before a lane of the same worker that starts later in time. */
  outOfOrder = 0;
  paused = false;
  pausedSeconds = 0;
  constructor() {
    this.jobs = budgets.map((b) => ({
      deposited: b,
      paid: 0n,
      refunded: 0n,
      remaining: b,
      closed: false,
      expiry: EXPIRY,
      pausedAtCreation: 0,
    }));
  }

  /** The started lanes of the worker of lane `l`, other than `l`. */
  otherLanes(l: number): ModelLane[] {
    const key = lanes[l]!.lane.key.keyHash;
    return [...this.started.entries()]
      .filter(([i]) => i !== l && lanes[i]!.lane.key.keyHash === key)
      .map(([, lane]) => lane);
  }

  /**
   * Bills a segment's window to lane `l` as the escrow does (the CLI places a new lane after
   * the worker's lane that starts last before it), or returns the error it must refuse with.
   */
  claim(l: number, tFirst: bigint, tLast: bigint, lanesNow: Map<number, ModelLane>): string | undefined {
    const lane = lanesNow.get(l);
    if (lane) {
      if (tFirst < lane.end) return "UsageVerifier__TimeAlreadyBilled";
      if (tLast > lane.nextStart) return "UsageVerifier__LaneOverlap";
      lanesNow.set(l, { ...lane, end: tLast });
      return undefined;
    }
    const key = lanes[l]!.lane.key.keyHash;
    const others = [...lanesNow.entries()].filter(([i]) => i !== l && lanes[i]!.lane.key.keyHash === key);
    const before = others
      .filter(([, o]) => o.start <= tFirst)
      .sort(([, a], [, b]) => (a.start < b.start ? 1 : -1))[0];
    const firstStart = others.reduce((m, [, o]) => (o.start < m ? o.start : m), OPEN_END);
    const nextStart = before ? before[1].nextStart : firstStart;
    if (before && tFirst < before[1].end) return "UsageVerifier__TimeAlreadyBilled";
    if (tLast > nextStart) return "UsageVerifier__LaneOverlap";
    if (nextStart !== OPEN_END) this.outOfOrder++;
    if (before) lanesNow.set(before[0], { ...before[1], nextStart: tFirst });
    lanesNow.set(l, { start: tFirst, end: tLast, nextStart });
    return undefined;
  }

  closableAt(job: ModelJob): number {
    return job.expiry + GRACE_S + (this.pausedSeconds - job.pausedAtCreation);
  }
}

/** Runs a transaction and returns "ok" or the name of the custom error it reverted with. */
async function outcome(tx: Promise<{ wait(): Promise<unknown> }>): Promise<string> {
  try {
    await (await tx).wait();
    return "ok";
  } catch (err) {
    return decodeContractError(err)?.name ?? `unexpected: ${String(err)}`;
  }
}

/** Applies an action to the model and returns the outcome the escrow must produce. */
function predict(m: Model, a: Action): string {
  switch (a.kind) {
    case "submit": {
      const { lane, weight } = lanes[a.lane]!;
      const job = m.jobs[Number(lane.jobId) - 1]!;
      const todo = lane.segments.slice(m.next[a.lane], m.next[a.lane]! + a.count);
      if (todo.length === 0) return "skip";
      if (m.paused) return "EnforcedPause";
      if (job.closed) return "ComputeEscrow__JobClosed";
      const lanesNow = new Map(m.started);
      let remaining = job.remaining;
      for (const s of todo) {
        const refused = m.claim(a.lane, BigInt(s.segment.tFirst), BigInt(s.segment.tLast), lanesNow);
        if (refused) return refused;
        const pay = payoutOf(s, weight);
        remaining -= pay < remaining ? pay : remaining;
      }
      m.started = lanesNow;
      m.next[a.lane]! += todo.length;
      m.owed += job.remaining - remaining;
      job.paid += job.remaining - remaining;
      job.remaining = remaining;
      return "ok";
    }
    case "replay": {
      const { lane } = lanes[a.lane]!;
      if (m.next[a.lane] === 0) return "skip";
      if (m.paused) return "EnforcedPause";
      return m.jobs[Number(lane.jobId) - 1]!.closed
        ? "ComputeEscrow__JobClosed"
        : "UsageVerifier__SegmentAlreadyAccepted";
    }
    case "pause":
      m.paused = !m.paused;
      return "ok";
    case "fund": {
      const job = m.jobs[a.job % m.jobs.length]!;
      if (m.paused) return "EnforcedPause";
      if (job.closed) return "ComputeEscrow__JobClosed";
      job.deposited += a.amount;
      job.remaining += a.amount;
      return "ok";
    }
    case "withdraw":
      if (m.owed === 0n) return "ComputeEscrow__NothingToWithdraw";
      m.withdrawn += m.owed;
      m.owed = 0n;
      return "ok";
    case "close": {
      const job = m.jobs[a.job % m.jobs.length]!;
      if (job.closed) return "ComputeEscrow__JobClosed";
      if (!a.byProvider && job.remaining !== 0n && m.now < m.closableAt(job))
        return "ComputeEscrow__CloseNotAllowed";
      job.refunded = job.remaining;
      job.remaining = 0n;
      job.closed = true;
      return "ok";
    }
    case "create":
      if (m.paused) return "EnforcedPause";
      m.jobs.push({
        deposited: a.amount,
        paid: 0n,
        refunded: 0n,
        remaining: a.amount,
        closed: false,
        expiry: CREATED_EXPIRY,
        pausedAtCreation: m.pausedSeconds,
      });
      return "ok";
    case "advance":
      m.now += ADVANCE_S;
      if (m.paused) m.pausedSeconds += ADVANCE_S;
      return "ok";
  }
}

/** Prepares the escrow call for an action from the model's state before the action. */
function prepare(m: Model, a: Action): () => Promise<string> {
  const escrow = f.d.escrow;
  switch (a.kind) {
    case "submit": {
      const { lane } = lanes[a.lane]!;
      const todo = lane.segments.slice(m.next[a.lane], m.next[a.lane]! + a.count).map((s) => s.submission);
      if (todo.length === 0) return async () => "skip";
      return async () => {
        // As the CLI does: a lane's first segment names the worker's lane before it in time.
        const subs = [];
        for (const s of todo) {
          const laneAfter =
            s.prevHead === 0n
              ? await laneAfterFor({
                  provider: f.connection.ethers.provider,
                  escrow: f.escrowAddress,
                  jobId: lane.jobId,
                  workerKeyHash: s.workerKeyHash,
                  tFirst: s.meter & OPEN_END,
                })
              : 0n;
          subs.push({ jobId: lane.jobId, submission: toSubmissionInput({ ...s, laneAfter }) });
        }
        return outcome(
          subs.length === 1
            ? escrow.submitSegment(lane.jobId, subs[0]!.submission)
            : escrow.submitSegments(subs),
        );
      };
    }
    case "pause": {
      const pausing = !m.paused;
      return () => outcome(pausing ? escrow.pause() : escrow.unpause());
    }
    case "replay": {
      const { lane } = lanes[a.lane]!;
      const last = lane.segments[m.next[a.lane]! - 1];
      if (!last) return async () => "skip";
      return () => outcome(escrow.submitSegment(lane.jobId, toSubmissionInput(last.submission)));
    }
    case "fund": {
      const jobId = BigInt((a.job % m.jobs.length) + 1);
      return () => outcome(escrow.connect(f.client).fundJob(jobId, a.amount));
    }
    case "withdraw":
      return () => outcome(escrow.connect(f.provider).withdraw(f.creditAddress));
    case "close": {
      const jobId = BigInt((a.job % m.jobs.length) + 1);
      return () => outcome(escrow.connect(a.byProvider ? f.provider : f.client).closeJob(jobId));
    }
    case "create":
      return () =>
        outcome(
          escrow
            .connect(f.client)
            .createJob(f.provider.address, f.creditAddress, a.amount, PRICE, CREATED_EXPIRY),
        );
    case "advance":
      return async () => {
        await f.chain.mineAt((await f.chain.latestTimestamp()) + ADVANCE_S);
        return "ok";
      };
  }
}

async function checkInvariants(m: Model, headIndex: number[]): Promise<void> {
  const { escrow, credit } = f.d;
  let deposited = 0n;
  let settled = 0n;
  let held = 0n;
  for (let i = 0; i < m.jobs.length; i++) {
    const job = await escrow.jobOf(BigInt(i + 1));
    expect(job.paid + job.refunded + job.remaining, `job ${i + 1}: paid + refunded + held`).toBe(
      job.deposited,
    );
    expect({
      deposited: job.deposited,
      paid: job.paid,
      refunded: job.refunded,
      remaining: job.remaining,
      closed: job.closed,
    }).toEqual({
      deposited: m.jobs[i]!.deposited,
      paid: m.jobs[i]!.paid,
      refunded: m.jobs[i]!.refunded,
      remaining: m.jobs[i]!.remaining,
      closed: m.jobs[i]!.closed,
    });
    deposited += job.deposited;
    settled += job.paid + job.refunded;
    held += job.remaining;
  }
  expect(settled + held).toBe(deposited);
  const owed = await escrow.balanceOf(f.provider.address, f.creditAddress);
  expect(owed).toBe(m.owed);
  expect(await credit.balanceOf(f.escrowAddress)).toBe(held + owed);
  expect(await credit.balanceOf(f.provider.address)).toBe(m.withdrawn);

  for (let l = 0; l < lanes.length; l++) {
    const { lane } = lanes[l]!;
    const head = await escrow.laneHead(lane.jobId, lane.key.keyHash);
    const index = head === 0n ? 0 : lane.segments.findIndex((s) => s.segment.newHead === head) + 1;
    expect(index, `lane ${l} head is one of its segments' heads`).toBeGreaterThanOrEqual(head === 0n ? 0 : 1);
    expect(index, `lane ${l} head never moves backwards`).toBeGreaterThanOrEqual(headIndex[l]!);
    expect(index).toBe(m.next[l]);
    headIndex[l] = index;
  }

  // No millisecond of a worker is billed in two lanes: every lane bills inside its own span,
  // which ends where the worker's next lane starts.
  const spans = await Promise.all(lanes.map(({ lane }) => escrow.laneOf(lane.jobId, lane.key.keyHash)));
  for (let i = 0; i < lanes.length; i++) {
    const a = spans[i]!;
    if (a.start === 0n) continue;
    expect(a.end, `lane ${i} bills within its span`).toBeLessThanOrEqual(a.nextStart);
    expect({ start: a.start, end: a.end, nextStart: a.nextStart }).toEqual(m.started.get(i));
    for (let j = i + 1; j < lanes.length; j++) {
      const b = spans[j]!;
      if (b.start === 0n || lanes[i]!.lane.key.keyHash !== lanes[j]!.lane.key.keyHash) continue;
      expect(a.end <= b.start || b.end <= a.start, `lanes ${i} and ${j} bill disjoint time`).toBe(true);
    }
  }
}

describe("ComputeEscrow invariants over random action sequences", () => {
  it("keeps paid + refunded + held == deposited and lane heads moving forward only", async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        await f.chain.revert(snapshot);
        snapshot = await f.chain.snapshot();
        const model = new Model();
        const headIndex = [0, 0, 0, 0, 0];
        for (const a of actions) {
          const run = prepare(model, a);
          const expected = predict(model, a);
          const actual = await run();
          expect(
            actual,
            JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
          ).toBe(expected);
          await checkInvariants(model, headIndex);
          const key = `${a.kind}:${actual}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        if (model.outOfOrder > 0) seen.set("out-of-order lane", (seen.get("out-of-order lane") ?? 0) + 1);
        if (model.jobs[0]!.remaining === 0n && !model.jobs[0]!.closed)
          seen.set("budget spent", (seen.get("budget spent") ?? 0) + 1);
      }),
      // A fixed seed keeps the coverage check below deterministic; FC_SEED explores others.
      { numRuns: 60, seed: Number(process.env.FC_SEED ?? 20261121) },
    );
    // The runs must have reached the interesting cases, or the property says little.
    for (const key of [
      "submit:ok",
      "submit:UsageVerifier__TimeAlreadyBilled",
      "submit:UsageVerifier__LaneOverlap",
      "submit:EnforcedPause",
      "pause:ok",
      "close:ComputeEscrow__CloseNotAllowed",
      "replay:UsageVerifier__SegmentAlreadyAccepted",
      "withdraw:ok",
      "close:ok",
      "budget spent",
      "out-of-order lane",
    ]) {
      expect(
        seen.get(key) ?? 0,
        `runs reaching ${key} (reached: ${[...seen.keys()].join(", ")})`,
      ).toBeGreaterThan(0);
    }
  });
});

/**
 * The same lanes on a network with bonds (the ComputeCredit), a minimum bond, a challenge
 * window and slashing to a reporter with the rest burned. Random bonds, unbonds, bond
 * withdrawals, revocations for cause, plausibility challenges of pending segments,
 * settlements, withdrawals, closes and submissions; a model
 * of every key's stake predicts each registry call's outcome exactly, and after every action
 * no token is created or lost: every credit minted is with the client, the provider, the
 * reporter, the burn address, the escrow (budgets + balance + pending) or the registry
 * (bonded + unbonding), and every payout a job paid is withdrawn, owed or pending.
 */
describe("bonds, pending payouts and slashes conserve every token", () => {
  const WINDOW = 600;
  const MIN_BOND = parseEther("1");
  const BURN = "0x000000000000000000000000000000000000dEaD";
  let g: BaseFixture;
  let keys: WorkerKey[];
  let gSnapshot: string;
  let minted: bigint;
  let challenge: PlausibilityChallenge;
  const proofs = new Map<string, Promise<bigint[]>>();
  /** The stranger's challenge proof of the first record of a lane's segment (made once). */
  const challengeProof = (lane: number, segment: number): Promise<bigint[]> => {
    const id = `${lane}:${segment}`;
    let p = proofs.get(id);
    if (!p) {
      const { trace } = lanes[lane]!.lane;
      p = proveChallenge({
        trace,
        segment,
        seq: trace.seals[segment]!.firstSeq,
        size: 8,
        rule: DEFAULT_ENERGY_RULE,
        reporter: g.stranger.address,
      }).then((c) => c.proof);
      proofs.set(id, p);
    }
    return p;
  };

  beforeAll(async () => {
    g = await baseFixture({
      stake: { bondToken: "credit", minimumBond: MIN_BOND, challengeWindow: WINDOW, reporterShareBps: 3000 },
    });
    keys = [lanes[0]!.lane.key, lanes[1]!.lane.key];
    await registerWorker(g, g.provider, keys[0]!, "H100", "inv-a");
    await registerWorker(g, g.provider, keys[1]!, "A100", "inv-b");
    await (await g.d.credit.mint(g.provider.address, parseEther("20"))).wait();
    await (await g.d.credit.connect(g.provider).approve(g.d.addresses.registry, parseEther("20"))).wait();
    for (const k of keys) await (await g.d.registry.connect(g.provider).bond(k.keyHash, MIN_BOND)).wait();
    for (const [i, budget] of budgets.entries()) {
      await createJobAt(g, { at: T0 + i, provider: g.provider.address, budget, expiry: EXPIRY });
    }
    await g.chain.mineAt(START);
    minted = await g.d.credit.totalSupply();
    challenge = g.d.challenge!.contract;
    gSnapshot = await g.chain.snapshot();
  });
  afterAll(async () => {
    await g?.connection.close();
  });

  type StakeAction =
    | { kind: "submit"; lane: number; count: 1 | 2 }
    | { kind: "bond"; key: number; amount: bigint }
    | { kind: "unbond"; key: number; amount: bigint }
    | { kind: "withdrawBond"; key: number }
    | { kind: "slash"; key: number }
    | { kind: "challenge"; lane: number }
    | { kind: "settle" }
    | { kind: "withdraw" }
    | { kind: "close"; job: number }
    | { kind: "advance"; seconds: number };
  const bondAmount = fc.bigInt({ min: 1n, max: MIN_BOND });
  const stakeAction: fc.Arbitrary<StakeAction> = fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant("submit" as const),
        lane: fc.nat(4),
        count: fc.constantFrom(1 as const, 2 as const),
      }),
      weight: 6,
    },
    {
      arbitrary: fc.record({ kind: fc.constant("bond" as const), key: fc.nat(1), amount: bondAmount }),
      weight: 2,
    },
    {
      arbitrary: fc.record({ kind: fc.constant("unbond" as const), key: fc.nat(1), amount: bondAmount }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant("withdrawBond" as const), key: fc.nat(1) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant("slash" as const), key: fc.nat(1) }), weight: 1 },
    // A stranger proves the lane's last submitted segment implausible (the lanes' records
    // report twice the energy their power allows) while its pay is pending. Job 1's two lanes,
    // one per key: each proof is made once, and five segments bound the proving time.
    { arbitrary: fc.record({ kind: fc.constant("challenge" as const), lane: fc.nat(1) }), weight: 1 },
    { arbitrary: fc.constant({ kind: "settle" as const }), weight: 2 },
    { arbitrary: fc.constant({ kind: "withdraw" as const }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant("close" as const), job: fc.nat(2) }), weight: 1 },
    {
      // Inside one window, or past two: everything pending so far is released.
      arbitrary: fc.record({ kind: fc.constant("advance" as const), seconds: fc.constantFrom(300, 1300) }),
      weight: 4,
    },
  );

  interface KeyStake {
    bonded: bigint;
    unbonding: bigint;
    unbondableAt: number;
    slashed: boolean;
  }

  it("keeps every token accounted for, and predicts every bond, unbond and slash", async () => {
    const seen = new Map<string, number>();
    const { escrow, registry, credit } = g.d;
    const allLanes = lanes.map(({ lane }) => ({ jobId: lane.jobId, workerKeyHash: lane.key.keyHash }));
    await fc.assert(
      fc.asyncProperty(fc.array(stakeAction, { minLength: 4, maxLength: 16 }), async (actions) => {
        await g.chain.revert(gSnapshot);
        gSnapshot = await g.chain.snapshot();
        const stakes: KeyStake[] = keys.map(() => ({
          bonded: MIN_BOND,
          unbonding: 0n,
          unbondableAt: 0,
          slashed: false,
        }));
        const next = [0, 0, 0, 0, 0];
        let toReporter = 0n;
        let burned = 0n;
        let withdrawn = 0n;
        const keyIndex = (hash: bigint) => keys.findIndex((k) => k.keyHash === hash);
        for (const a of actions) {
          const now = (await g.chain.latestTimestamp()) + 1; // the next block's time, within a second
          let expected: string | undefined;
          let run: () => Promise<string>;
          switch (a.kind) {
            case "submit": {
              const { lane } = lanes[a.lane]!;
              const todo = lane.segments
                .slice(next[a.lane], next[a.lane]! + a.count)
                .map((s) => s.submission);
              if (todo.length === 0) continue;
              const s = stakes[keyIndex(lane.key.keyHash)]!;
              if ((await escrow.jobOf(lane.jobId)).closed) expected = "ComputeEscrow__JobClosed";
              else if (s.slashed) expected = "ComputeEscrow__WorkerInactive";
              else if (s.bonded < MIN_BOND) expected = "ComputeEscrow__BondBelowMinimum";
              run = async () => {
                const subs = [];
                for (const sub of todo) {
                  const laneAfter =
                    sub.prevHead === 0n
                      ? await laneAfterFor({
                          provider: g.connection.ethers.provider,
                          escrow: g.escrowAddress,
                          jobId: lane.jobId,
                          workerKeyHash: sub.workerKeyHash,
                          tFirst: sub.meter & OPEN_END,
                        })
                      : 0n;
                  subs.push({ jobId: lane.jobId, submission: toSubmissionInput({ ...sub, laneAfter }) });
                }
                const r = await outcome(escrow.submitSegments(subs));
                if (r === "ok") next[a.lane]! += todo.length;
                return r;
              };
              break;
            }
            case "bond": {
              const s = stakes[a.key]!;
              expected = s.slashed ? "WorkerRegistry__KeySlashed" : "ok";
              if (!s.slashed) s.bonded += a.amount;
              run = () => outcome(registry.connect(g.provider).bond(keys[a.key]!.keyHash, a.amount));
              break;
            }
            case "unbond": {
              const s = stakes[a.key]!;
              expected = a.amount > s.bonded ? "WorkerRegistry__UnbondExceedsBond" : "ok";
              if (expected === "ok") {
                s.bonded -= a.amount;
                s.unbonding += a.amount;
                s.unbondableAt = now + 2 * WINDOW;
              }
              run = () => outcome(registry.connect(g.provider).requestUnbond(keys[a.key]!.keyHash, a.amount));
              break;
            }
            case "withdrawBond": {
              const s = stakes[a.key]!;
              if (s.unbonding === 0n) expected = "WorkerRegistry__NothingUnbonding";
              // Within a second or two of the deadline the model's clock cannot tell: skip.
              else if (Math.abs(now - s.unbondableAt) <= 2) continue;
              else if (now < s.unbondableAt) expected = "WorkerRegistry__UnbondNotReady";
              else {
                expected = "ok";
                s.unbonding = 0n;
              }
              run = () => outcome(registry.connect(g.provider).withdrawUnbonded(keys[a.key]!.keyHash));
              break;
            }
            case "slash": {
              const s = stakes[a.key]!;
              if (s.slashed) expected = "WorkerRegistry__KeySlashed";
              else {
                expected = "ok";
                const total = s.bonded + s.unbonding;
                toReporter += (total * 3000n) / 10_000n;
                burned += total - (total * 3000n) / 10_000n;
                Object.assign(s, { bonded: 0n, unbonding: 0n, slashed: true });
              }
              run = () =>
                outcome(
                  registry
                    .connect(g.attestor)
                    .revokeForCause(keys[a.key]!.keyHash, EVIDENCE, g.stranger.address),
                );
              break;
            }
            case "challenge": {
              const { lane } = lanes[a.lane]!;
              const s = stakes[keyIndex(lane.key.keyHash)]!;
              const last = next[a.lane]! - 1;
              if (last < 0 || s.slashed) continue;
              let pending;
              try {
                pending = await findPendingSegment({
                  escrow,
                  provider: g.connection.ethers.provider,
                  jobId: lane.jobId,
                  workerKeyHash: lane.key.keyHash,
                  newHead: lane.segments[last]!.submission.newHead,
                  fromBlock: 0,
                });
              } catch (err) {
                if (err instanceof NotChallengeableError) continue;
                throw err;
              }
              // Within a couple of seconds of the window's end the model's clock cannot tell.
              if (Number(pending.releaseAt) - now <= 2) continue;
              expected = "ok";
              const total = s.bonded + s.unbonding;
              toReporter += (total * 3000n) / 10_000n;
              burned += total - (total * 3000n) / 10_000n;
              Object.assign(s, { bonded: 0n, unbonding: 0n, slashed: true });
              const proof = await challengeProof(a.lane, last);
              run = () =>
                outcome(
                  challenge.connect(g.stranger).challenge(
                    ...challengeArgs({
                      jobId: lane.jobId,
                      workerKeyHash: lane.key.keyHash,
                      pending,
                      proof,
                    }),
                  ),
                );
              break;
            }
            case "settle":
              expected = "ok";
              run = async () => {
                const r = await (await escrow.connect(g.stranger).settlePending(allLanes)).wait();
                if (eventsIn(r, "PendingReturned").length > 0)
                  seen.set("settle:returned", (seen.get("settle:returned") ?? 0) + 1);
                if (eventsIn(r, "PendingReleased").length > 0)
                  seen.set("settle:released", (seen.get("settle:released") ?? 0) + 1);
                return "ok";
              };
              break;
            case "withdraw": {
              const owed = await escrow.balanceOf(g.provider.address, g.creditAddress);
              expected = owed === 0n ? "ComputeEscrow__NothingToWithdraw" : "ok";
              withdrawn += owed;
              run = () => outcome(escrow.connect(g.provider).withdraw(g.creditAddress));
              break;
            }
            case "close": {
              const closed = (await escrow.jobOf(BigInt(a.job + 1))).closed;
              expected = closed ? "ComputeEscrow__JobClosed" : "ok";
              run = () => outcome(escrow.connect(g.provider).closeJob(BigInt(a.job + 1)));
              break;
            }
            case "advance":
              expected = "ok";
              run = async () => {
                await g.chain.mineAt((await g.chain.latestTimestamp()) + a.seconds);
                return "ok";
              };
              break;
          }
          const actual = await run();
          const label = JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
          if (expected !== undefined) expect(actual, label).toBe(expected);
          else expect(actual, label).toMatch(/^(ok|UsageVerifier__\w+)$/);
          const key = `${a.kind}:${actual}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);

          // Stakes as modelled; the registry holds exactly the stake.
          let staked = 0n;
          for (const [i, k] of keys.entries()) {
            const st = await registry.stakeOf(k.keyHash);
            expect(
              { bonded: st.bonded, unbonding: st.unbonding, slashed: st.slashedAt !== 0n },
              label,
            ).toEqual({
              bonded: stakes[i]!.bonded,
              unbonding: stakes[i]!.unbonding,
              slashed: stakes[i]!.slashed,
            });
            staked += st.bonded + st.unbonding;
          }
          expect(await credit.balanceOf(g.d.addresses.registry)).toBe(staked);
          expect(await credit.balanceOf(g.stranger.address)).toBe(toReporter);
          expect(await credit.balanceOf(BURN)).toBe(burned);

          // Jobs balance; pending is the sum of its lanes; nothing of a slashed key stays locked.
          let held = 0n;
          let paid = 0n;
          for (let j = 1n; j <= 3n; j++) {
            const job = await escrow.jobOf(j);
            expect(job.paid + job.refunded + job.remaining, `job ${j}`).toBe(job.deposited);
            held += job.remaining;
            paid += job.paid;
          }
          let lanePending = 0n;
          for (const l of allLanes) {
            const [locked, releasable, returnable] = await escrow.pendingOf(l.jobId, l.workerKeyHash);
            lanePending += locked + releasable + returnable;
            if (stakes[keyIndex(l.workerKeyHash)]!.slashed) expect(locked, label).toBe(0n);
          }
          const pending = await escrow.pendingBalanceOf(g.provider.address, g.creditAddress);
          const owed = await escrow.balanceOf(g.provider.address, g.creditAddress);
          expect(lanePending, label).toBe(pending);
          expect(paid, `${label}: paid == withdrawn + owed + pending`).toBe(withdrawn + owed + pending);
          expect(await credit.balanceOf(g.escrowAddress)).toBe(held + owed + pending);
          const holders = [
            g.client.address,
            g.provider.address,
            g.stranger.address,
            BURN,
            g.escrowAddress,
            g.d.addresses.registry,
          ];
          let total = 0n;
          for (const h of holders) total += await credit.balanceOf(h);
          expect(total, `${label}: every minted credit is accounted for`).toBe(minted);
        }
      }),
      { numRuns: 60, seed: Number(process.env.FC_SEED ?? 11) },
    );
    for (const key of [
      "submit:ok",
      "submit:ComputeEscrow__BondBelowMinimum",
      "submit:ComputeEscrow__WorkerInactive",
      "slash:ok",
      "challenge:ok",
      "settle:released",
      "settle:returned",
      "withdraw:ok",
      "withdrawBond:ok",
      "withdrawBond:WorkerRegistry__UnbondNotReady",
      "unbond:WorkerRegistry__UnbondExceedsBond",
    ]) {
      expect(
        seen.get(key) ?? 0,
        `runs reaching ${key} (reached: ${[...seen.keys()].join(", ")})`,
      ).toBeGreaterThan(0);
    }
  });
});
