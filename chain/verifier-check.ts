import type { Provider } from "ethers";
import {
  attachContract,
  batchVerifierContractName,
  loadArtifact,
  verifierContractName,
} from "../contracts/index.ts";

export interface VerifierCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Checks a deployed Groth16 verifier of circuit `size` against the local build: its runtime
 * code equals the compiled generated verifier's, and it accepts a proof made with the local
 * zkey (`proof` words and `publicSignals`) and refuses the same proof for other signals.
 * Together with `meterproof setup --check` (the generated verifier matches the zkey), this
 * shows the chain verifies exactly the proofs of the pinned zkey.
 */
export async function checkDeployedVerifier(args: {
  provider: Provider;
  address: string;
  size: number;
  proof: readonly bigint[];
  publicSignals: readonly bigint[];
}): Promise<VerifierCheck[]> {
  const runtime = await runtimeCodeCheck(
    args.provider,
    args.address,
    verifierContractName(args.size),
    "runtime code",
  );
  const checks: VerifierCheck[] = [runtime];
  if (runtime.detail.startsWith("no contract")) return checks;
  const verifier = attachContract("IGroth16Verifier5", args.address, args.provider);
  const p = args.proof;
  // A contract that is not a verifier reverts: that too is "does not accept".
  const call = (signals: readonly bigint[]) =>
    verifier
      .verifyProof(
        [p[0]!, p[1]!],
        [
          [p[2]!, p[3]!],
          [p[4]!, p[5]!],
        ],
        [p[6]!, p[7]!],
        signals as [bigint, bigint, bigint, bigint, bigint],
      )
      .catch(() => false);
  const accepts = await call(args.publicSignals);
  checks.push({
    name: "accepts a proof of the local zkey",
    ok: accepts,
    detail: accepts
      ? "a fresh proof verifies on chain"
      : "a fresh proof made with the local zkey does not verify on chain",
  });
  const tampered = [...args.publicSignals];
  tampered[4] = tampered[4]! + 1n;
  const refuses = !(await call(tampered));
  checks.push({
    name: "refuses it for other signals",
    ok: refuses,
    detail: refuses
      ? "the same proof with meter + 1 is refused"
      : "the same proof verifies for other public signals",
  });
  return checks;
}

/**
 * Checks a deployed batch verifier of circuit `size` against the local build: its runtime code
 * equals the compiled SegmentGroth16BatchVerifier{N} (generated from the zkey that `setup
 * --check` vouches for), it accepts a fresh batch of proofs made with the local zkey, and it
 * refuses the same batch with two statements' signals swapped.
 */
export async function checkDeployedBatchVerifier(args: {
  provider: Provider;
  address: string;
  size: number;
  /** At least two proofs (Solidity words) of the local zkey, with their public signals. */
  proofs: readonly (readonly bigint[])[];
  publicSignals: readonly (readonly bigint[])[];
}): Promise<VerifierCheck[]> {
  const runtime = await runtimeCodeCheck(
    args.provider,
    args.address,
    batchVerifierContractName(args.size),
    "batch runtime code",
  );
  const checks: VerifierCheck[] = [runtime];
  if (runtime.detail.startsWith("no contract")) return checks;
  const verifier = attachContract("ISegmentBatchVerifier", args.address, args.provider);
  const n = args.proofs.length;
  const call = (signals: readonly (readonly bigint[])[]) =>
    verifier
      .verifyBatch(
        args.proofs.map((p) => [...p]),
        signals.map((s) => [...s]),
      )
      .catch(() => false);
  const accepts = await call(args.publicSignals);
  checks.push({
    name: "batch accepts proofs of the local zkey",
    ok: accepts,
    detail: accepts
      ? `a fresh batch of ${n} proofs verifies on chain`
      : `a fresh batch of ${n} proofs made with the local zkey does not verify on chain`,
  });
  const swapped = [...args.publicSignals];
  if (n >= 2) [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  else swapped[0] = args.publicSignals[0]!.map((v, i) => (i === 4 ? v + 1n : v));
  const refuses = !(await call(swapped));
  checks.push({
    name: "batch refuses other statements",
    ok: refuses,
    detail: refuses
      ? n >= 2
        ? "the same batch with two proofs' signals swapped is refused"
        : "the same batch with meter + 1 is refused"
      : "the batch verifies for other public signals",
  });
  return checks;
}

/** Whether the code at `address` is exactly the compiled runtime code of `contractName`. */
async function runtimeCodeCheck(
  provider: Provider,
  address: string,
  contractName: string,
  name: string,
): Promise<VerifierCheck> {
  const artifact = loadArtifact(contractName);
  const code = (await provider.getCode(address)).toLowerCase();
  const expected = artifact.deployedBytecode.toLowerCase();
  const bytes = (hex: string) => (hex.length - 2) / 2;
  return {
    name,
    ok: code === expected,
    detail:
      code === "0x"
        ? `no contract at ${address}`
        : code === expected
          ? `equals the compiled ${artifact.contractName} (${bytes(expected)} bytes)`
          : `differs from the compiled ${artifact.contractName} (${bytes(code)} bytes on chain, ${bytes(expected)} built)`,
  };
}
