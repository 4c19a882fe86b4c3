import type { Log, TransactionReceipt } from "ethers";
import {
  meterproofInterface,
  type JobClosedEvent,
  type DeviceWeightSetEvent,
  type VerifierSetEvent,
  type JobCreatedEvent,
  type JobFundedEvent,
  type LaneStartedEvent,
  type PauseTimeRecordedEvent,
  type PendingReleasedEvent,
  type PendingReturnedEvent,
  type SegmentAcceptedEvent,
  type SegmentSkippedEvent,
  type WithdrawnEvent,
} from "../contracts/index.ts";

/** Where a log came from on chain. */
export interface LogPosition {
  blockNumber: number;
  transactionHash: string;
  logIndex: number;
  address: string;
}

/** The escrow's (and the verifier router's) events by name, as typed objects. */
export interface EscrowEventMap {
  JobCreated: JobCreatedEvent;
  JobFunded: JobFundedEvent;
  LaneStarted: LaneStartedEvent;
  PauseTimeRecorded: PauseTimeRecordedEvent;
  PendingReleased: PendingReleasedEvent;
  PendingReturned: PendingReturnedEvent;
  SegmentAccepted: SegmentAcceptedEvent;
  SegmentSkipped: SegmentSkippedEvent;
  Withdrawn: WithdrawnEvent;
  JobClosed: JobClosedEvent;
  DeviceWeightSet: DeviceWeightSetEvent;
  VerifierSet: VerifierSetEvent;
}
export type EscrowEventName = keyof EscrowEventMap;

/** One decoded meterproof event. */
export interface DecodedEvent {
  name: string;
  args: Record<string, unknown>;
  position: LogPosition;
}

/** Decodes every meterproof event in a list of logs; logs of other contracts are skipped. */
export function decodeEvents(logs: readonly Log[]): DecodedEvent[] {
  const iface = meterproofInterface();
  const out: DecodedEvent[] = [];
  for (const log of logs) {
    let parsed;
    try {
      parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    } catch {
      continue;
    }
    if (!parsed) continue;
    out.push({
      name: parsed.name,
      args: parsed.args.toObject(),
      position: {
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash,
        logIndex: log.index,
        address: log.address,
      },
    });
  }
  return out;
}

/** The events named `name` in a transaction receipt, typed. */
export function eventsIn<K extends EscrowEventName>(
  receipt: TransactionReceipt | null,
  name: K,
): (EscrowEventMap[K] & { position: LogPosition })[] {
  if (!receipt) throw new Error("transaction receipt is missing (transaction not mined?)");
  return decodeEvents(receipt.logs)
    .filter((e) => e.name === name)
    .map((e) => ({ ...(e.args as unknown as EscrowEventMap[K]), position: e.position }));
}
