import { network } from "hardhat";
import { buildContracts } from "../../chain/hardhat-build.ts";

export { buildContracts };

/** A fresh in-process Hardhat network (chain id 31337) with the contracts built. */
export async function connectHardhat() {
  await buildContracts();
  return network.create();
}

type Connection = Awaited<ReturnType<typeof connectHardhat>>;

/** JSON-RPC helpers for time and snapshots on a Hardhat network. */
export function chainControl(connection: Connection) {
  const send = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });
  return {
    /** The next block gets exactly this timestamp (unix seconds). */
    async setNextTimestamp(seconds: number | bigint): Promise<void> {
      await send("evm_setNextBlockTimestamp", [Number(seconds)]);
    },
    /** Mines a block at `seconds` so later blocks follow from there. */
    async mineAt(seconds: number | bigint): Promise<void> {
      await send("evm_setNextBlockTimestamp", [Number(seconds)]);
      await send("evm_mine");
    },
    async latestTimestamp(): Promise<number> {
      const block = (await send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
      return Number(BigInt(block.timestamp));
    },
    async snapshot(): Promise<string> {
      return (await send("evm_snapshot")) as string;
    },
    async revert(id: string): Promise<void> {
      const ok = (await send("evm_revert", [id])) as boolean;
      if (!ok) throw new Error(`evm_revert ${id} failed`);
    },
  };
}
