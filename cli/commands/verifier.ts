import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerVerifier(program: Command): void {
  const verifier = program.command("verifier").description("the Groth16 verifiers deployed on a chain");
  const check = verifier
    .command("check")
    .description(
      "check that a deployed verifier matches the local zkey: the local verifier and key match the manifest, the " +
        "router points at the verifier, its runtime code equals the build, and it accepts a fresh proof of the zkey " +
        "and refuses it for other signals; the same for the circuit's batch verifier when the router has one (or " +
        "--batch-verifier names it); exit 1 on any mismatch",
    )
    .requiredOption("--size <N>", "circuit id (segment size N)")
    .option("--verifier <address>", "the verifier's address (default: the one --deployment names for --size)")
    .option(
      "--batch-verifier <address>",
      "the batch verifier's address (default: the one the router has for --size)",
    )
    .option(
      "--deployment <file>",
      "deployment file written by `meterproof deploy` (names the verifier and router)",
    );
  withChainOptions(check, { signs: false }).action(
    async (opts: ChainOptions & { size: string; verifier?: string; batchVerifier?: string }) => {
      const size = Number(opts.size);
      if (!Number.isInteger(size) || size < 1)
        throw new CliError(`--size must be a positive integer, got ${opts.size}`);
      const { openSession, checkAddress, toJsonText } = await import("../chain-session.ts");
      const { checkSetup } = await import("../../setup/index.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const { checkDeployedVerifier, checkDeployedBatchVerifier } =
        await import("../../chain/verifier-check.ts");
      const local = await checkSetup({ size });
      if (!local.ok) {
        for (const p of local.problems) console.error(`  ${p}`);
        throw new CliError(
          `segment_${size}: the local verifier or key does not match the manifest`,
          EXIT_FAILED,
        );
      }
      const given = opts.verifier !== undefined ? checkAddress("--verifier", opts.verifier) : undefined;
      let batchAddress =
        opts.batchVerifier !== undefined ? checkAddress("--batch-verifier", opts.batchVerifier) : undefined;
      const session = await openSession(opts, {});
      try {
        const fromFile = session.deployment?.addresses.verifiers[String(size)];
        const address = given ?? fromFile;
        if (address === undefined)
          throw new CliError(
            `give --verifier ADDRESS, or a --deployment FILE with a verifier for size ${size}`,
          );
        const rows: { name: string; ok: boolean; detail: string }[] = [
          {
            name: "local build",
            ok: true,
            detail: `verifier and verification key match the zkey of segment_${size}`,
          },
        ];
        const router = session.deployment?.addresses.router;
        if (router !== undefined) {
          const routerContract = attachContract("SegmentVerifierRouter", router, session.rpc.provider);
          const routed = await routerContract.verifierOf(size);
          const same = routed.toLowerCase() === address.toLowerCase();
          rows.push({
            name: "router",
            ok: same,
            detail: same
              ? `circuit ${size} is routed to ${address}`
              : `circuit ${size} is routed to ${routed}, not ${address}`,
          });
          // The router's batch verifier of the circuit, when it has one.
          const routedBatch = await routerContract.batchVerifierOf(size).catch(() => undefined);
          const noBatch = routedBatch === undefined || /^0x0{40}$/i.test(routedBatch);
          if (batchAddress === undefined && !noBatch) batchAddress = routedBatch;
          else if (batchAddress !== undefined) {
            const same = !noBatch && routedBatch.toLowerCase() === batchAddress.toLowerCase();
            rows.push({
              name: "router batch verifier",
              ok: same,
              detail: same
                ? `circuit ${size}'s batches go to ${batchAddress}`
                : `circuit ${size}'s batches go to ${noBatch ? "no batch verifier" : routedBatch}, not ${batchAddress}`,
            });
          }
        }
        const fresh = await freshProofs(size, batchAddress !== undefined ? 2 : 1);
        rows.push(
          ...(await checkDeployedVerifier({
            provider: session.rpc.provider,
            address,
            size,
            proof: fresh[0]!.proof,
            publicSignals: fresh[0]!.publicSignals,
          })),
        );
        if (batchAddress !== undefined) {
          rows.push(
            ...(await checkDeployedBatchVerifier({
              provider: session.rpc.provider,
              address: batchAddress,
              size,
              proofs: fresh.map((f) => f.proof),
              publicSignals: fresh.map((f) => f.publicSignals),
            })),
          );
        }
        if (opts.json)
          console.log(
            toJsonText({
              size,
              address,
              ...(batchAddress !== undefined ? { batchVerifier: batchAddress } : {}),
              ok: rows.every((r) => r.ok),
              checks: rows,
            }),
          );
        else for (const r of rows) console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
        if (!rows.every((r) => r.ok))
          throw new CliError(`the verifier at ${address} does not match segment_${size}'s zkey`, EXIT_FAILED);
      } finally {
        session.close();
      }
    },
  );
}

/** Proofs of `count` one-record segments signed by a throwaway key, made with the local zkey. */
async function freshProofs(
  size: number,
  count: number,
): Promise<{ proof: bigint[]; publicSignals: bigint[] }[]> {
  const { TraceBuilder, checkTrace, generateWorkerKey, sha256Hex, solidityProof } =
    await import("../../trace/index.ts");
  const { segmentWitnessInput } = await import("../../prover/witness-input.ts");
  const { loadProvingCircuit } = await import("../../prover/load-circuit.ts");
  const { SegmentProver } = await import("../../prover/segment-prover.ts");
  const lines: unknown[] = [];
  const builder = TraceBuilder.start(
    {
      chainId: 1n,
      escrow: "0x0000000000000000000000000000000000000001",
      jobId: 1n,
      provider: "0x0000000000000000000000000000000000000002",
      terms: {
        client: "0x0000000000000000000000000000000000000003",
        token: "0x0000000000000000000000000000000000000004",
        price: 1n,
        expiry: 2_000_000_000n,
      },
      device: { class: "CHECK", name: "verifier check", uuidHash: sha256Hex("verifier check") },
      sampler: "proc",
      intervalMs: 1000,
      segmentSize: size,
      command: ["verifier-check"],
      startTime: 1_000,
    },
    await generateWorkerKey(),
    (l) => lines.push(l),
  );
  for (let i = 0; i < count; i++) {
    await builder.addRecord({
      tStart: 1_000 + i * 1_000,
      tEnd: 2_000 + i * 1_000,
      utilBps: 5000,
      memMiB: 0,
      powerMw: 0,
      energyMj: 0,
      outputSha256: sha256Hex(""),
    });
    await builder.seal();
  }
  const trace = await checkTrace(lines);
  const circuit = await loadProvingCircuit(size);
  const prover = new SegmentProver({ wasm: circuit.wasm, zkey: circuit.zkey });
  try {
    const out: { proof: bigint[]; publicSignals: bigint[] }[] = [];
    for (let segment = 0; segment < count; segment++) {
      const { proof, publicSignals } = await prover.prove(segmentWitnessInput({ trace, segment, size }));
      out.push({ proof: solidityProof(proof).map(BigInt), publicSignals: publicSignals.map(BigInt) });
    }
    return out;
  } finally {
    await prover.close();
  }
}
