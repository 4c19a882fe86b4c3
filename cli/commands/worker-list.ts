import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";

interface ListOptions extends ChainOptions {
  provider?: string;
  fromBlock?: string;
}

/** `meterproof worker list`: the registry's worker keys and what the escrow billed for them; needs no key. */
export function registerWorkerList(worker: Command): void {
  const cmd = worker
    .command("list")
    .description(
      "list the registry's worker keys (read only: needs no key): key hash, provider, device class, GPU hash, " +
        "active, approval, and the lanes, segments and hours the escrow billed, in the device's own hours and " +
        "H100-equivalent hours with the weight that applied",
    )
    .option("--provider <address>", "only keys of this provider")
    .option("--from-block <n>", "first block to read events from (default: the deployment's)");
  withChainOptions(cmd, { contracts: ["escrow"], signs: false }).action(async (opts: ListOptions) => {
    const { openSession, addressOf, checkAddress, toJsonText } = await import("../chain-session.ts");
    const { listWorkers } = await import("../../chain/listing.ts");
    const { fromBlockOf, isoSeconds, readChain } = await import("../read-context.ts");
    const { deviceHours, h100EquivalentHours, formatHours } = await import("../token-units.ts");
    const provider = opts.provider !== undefined ? checkAddress("--provider", opts.provider) : undefined;
    const session = await openSession(opts, { contracts: ["escrow"], signs: false });
    try {
      const escrow = addressOf(session, "escrow");
      const list = await readChain(() =>
        listWorkers({
          provider: session.rpc.provider,
          escrow,
          fromBlock: fromBlockOf(session, opts.fromBlock),
          ...(provider ? { workerProvider: provider } : {}),
        }),
      );
      const hours = (w: (typeof list.workers)[number]) => ({
        deviceHours: deviceHours(w.usage),
        deviceHoursUnit: `${w.deviceClass}-hours`,
        h100EquivalentHours: h100EquivalentHours(w.weightedUsage, 1n),
      });
      if (opts.json) {
        console.log(
          toJsonText({
            chainId: session.chainId,
            registry: list.registry,
            escrow,
            requireAttestation: list.requireAttestation,
            block: list.at.block,
            workers: list.workers.map((w) => ({ ...w, billed: hours(w) })),
          }),
        );
        return;
      }
      console.log(
        `${list.workers.length} worker key${list.workers.length === 1 ? "" : "s"} in registry ${list.registry} ` +
          `on chain ${session.chainId}${provider ? ` (provider ${provider})` : ""}; attestor approval ` +
          `${list.requireAttestation ? "required" : "not required"} to earn`,
      );
      for (const w of list.workers) {
        const state = w.released ? "released (off for good)" : w.active ? "active" : "inactive";
        const approval = w.approval
          ? `${w.approval.approved ? "approved" : "approval revoked"} by ${w.approval.attestor} in block ${w.approval.block}` +
            (w.approval.expiresAt !== undefined
              ? `, ${w.approval.expiresAt * 1000 > Date.now() ? "until" : "lapsed at"} ${new Date(w.approval.expiresAt * 1000).toISOString()}`
              : "")
          : w.approved
            ? "approved"
            : list.requireAttestation
              ? "not approved (cannot earn)"
              : "not approved (not required)";
        console.log(`worker ${w.workerKeyHash}`);
        console.log(`  provider      ${w.provider}`);
        console.log(
          `  device        ${w.deviceClass}, weight ${w.weightBps} bps on the rate card now` +
            (w.weightBps === 0n ? " (unrated: cannot start lanes)" : ""),
        );
        console.log(`  GPU hash      ${w.released ? "released" : w.gpuUuidHash}`);
        console.log(`  state         ${state}, ${approval}`);
        console.log(`  registered    ${isoSeconds(w.registeredAt)}`);
        const h = hours(w);
        const weights = w.weightsApplied.length > 0 ? ` at weight ${w.weightsApplied.join(", ")} bps` : "";
        console.log(
          `  billed        ${w.lanes} lane${w.lanes === 1 ? "" : "s"}, ${w.segments} segment${w.segments === 1 ? "" : "s"}: ` +
            `${formatHours(h.deviceHours)} ${h.deviceHoursUnit} = ${formatHours(h.h100EquivalentHours)} H100-equivalent hours${weights}`,
        );
      }
    } finally {
      session.close();
    }
  });
}
