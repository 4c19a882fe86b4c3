/**
 * The one module through which TypeScript loads the meterproof contracts: artifacts (ABI and
 * bytecode, built by `npx hardhat build` into artifacts/), typed bindings (contracts/bindings.ts,
 * generated from those ABIs) and typed deploy/attach helpers.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Contract, ContractFactory, Interface, type ContractRunner, type InterfaceAbi } from "ethers";
import type {
  ConstructorArgs,
  ContractTypes,
  IGroth16Verifier2,
  IGroth16Verifier5,
  IGroth16Verifier7,
  ISegmentBatchVerifier,
} from "./bindings.ts";
import { packageRoot } from "../trace/package-root.ts";

export type * from "./bindings.ts";

/**
 * The repository root (the installed package's folder when meterproof runs from node_modules):
 * artifacts/ is found relative to it.
 */
export const REPO_ROOT = packageRoot(import.meta.url);

/** Contracts with typed bindings, and the Solidity file each is declared in. */
export const BOUND_CONTRACTS = {
  ComputeEscrow: "contracts/ComputeEscrow.sol",
  UsageVerifier: "contracts/UsageVerifier.sol",
  WorkerRegistry: "contracts/WorkerRegistry.sol",
  SegmentVerifierRouter: "contracts/SegmentVerifierRouter.sol",
  ComputeCredit: "contracts/ComputeCredit.sol",
  PlausibilityChallenge: "contracts/PlausibilityChallenge.sol",
  IGroth16Verifier7: "contracts/interfaces/IGroth16Verifier7.sol",
  IGroth16Verifier5: "contracts/interfaces/IGroth16Verifier5.sol",
  IGroth16Verifier2: "contracts/interfaces/IGroth16Verifier2.sol",
  ISegmentBatchVerifier: "contracts/interfaces/ISegmentBatchVerifier.sol",
  MinimalEscrow: "contracts/examples/MinimalEscrow.sol",
  ReentrantToken: "contracts/test/ReentrantToken.sol",
  FeeOnTransferToken: "contracts/test/FeeOnTransferToken.sol",
} as const;

export type BoundContractName = keyof typeof BOUND_CONTRACTS;
/** Contracts that can be deployed (the verifier interfaces cannot). */
export type DeployableName = Exclude<
  BoundContractName,
  "IGroth16Verifier5" | "IGroth16Verifier2" | "IGroth16Verifier7" | "ISegmentBatchVerifier"
>;

/** Name of the snarkjs-generated verifier of the key-possession circuit (`meterproof setup`). */
export const KEY_VERIFIER_CONTRACT = "KeyPossessionGroth16Verifier";

/** Name of the snarkjs-generated verifier contract of segment size N (`meterproof setup --size N`). */
export function verifierContractName(size: number): string {
  return `SegmentGroth16Verifier${size}`;
}

/**
 * Name of the batch verifier contract of segment size N (`meterproof setup --size N` writes it
 * from the verification key: setup/batch-verifier.ts).
 */
export function batchVerifierContractName(size: number): string {
  return `SegmentGroth16BatchVerifier${size}`;
}

/** Name of the snarkjs-generated verifier of the challenge circuit ImplausibleRecord(N) (`meterproof setup --size N`). */
export function challengeVerifierContractName(size: number): string {
  return `ImplausibleRecordGroth16Verifier${size}`;
}

function sourceOf(name: string): string {
  if (name in BOUND_CONTRACTS) return BOUND_CONTRACTS[name as BoundContractName];
  const verifier = /^SegmentGroth16Verifier([0-9]+)$/.exec(name);
  if (verifier) return `contracts/generated/SegmentVerifier${verifier[1]}.sol`;
  const batch = /^SegmentGroth16BatchVerifier([0-9]+)$/.exec(name);
  if (batch) return `contracts/generated/SegmentBatchVerifier${batch[1]}.sol`;
  if (name === KEY_VERIFIER_CONTRACT) return "contracts/generated/KeyPossessionVerifier.sol";
  const challenge = /^ImplausibleRecordGroth16Verifier([0-9]+)$/.exec(name);
  if (challenge) return `contracts/generated/ChallengeVerifier${challenge[1]}.sol`;
  throw new Error(`contract ${name} is not part of meterproof`);
}

/** Path of the Hardhat artifact of a contract. */
export function artifactPath(name: string, root = REPO_ROOT): string {
  return join(root, "artifacts", sourceOf(name), `${name}.json`);
}

/** The parts of a Hardhat artifact meterproof uses. */
export interface ContractArtifact {
  contractName: string;
  sourceName: string;
  abi: InterfaceAbi;
  bytecode: string;
  deployedBytecode: string;
}

const artifactCache = new Map<string, ContractArtifact>();

/** Reads the artifact of a contract; fails with what to run when it has not been built. */
export function loadArtifact(name: string, root = REPO_ROOT): ContractArtifact {
  const path = artifactPath(name, root);
  const cached = artifactCache.get(path);
  if (cached) return cached;
  if (!existsSync(path)) {
    const size = /^(?:SegmentGroth16(?:Batch)?|ImplausibleRecordGroth16)Verifier([0-9]+)$/.exec(name)?.[1];
    const hint = size
      ? `run \`meterproof setup --size ${size}\` and then \`npx hardhat build\``
      : name === KEY_VERIFIER_CONTRACT
        ? "run `meterproof setup --size 8` (it builds the key-possession circuit) and then `npx hardhat build`"
        : "run `npx hardhat build`";
    throw new Error(`artifact of ${name} is missing at ${path}: ${hint}`);
  }
  const artifact = JSON.parse(readFileSync(path, "utf8")) as ContractArtifact;
  artifactCache.set(path, artifact);
  return artifact;
}

/** Whether the verifier of segment size N has been generated and compiled. */
export function hasVerifierArtifact(size: number, root = REPO_ROOT): boolean {
  return existsSync(artifactPath(verifierContractName(size), root));
}

/** Whether the batch verifier of segment size N has been generated and compiled. */
export function hasBatchVerifierArtifact(size: number, root = REPO_ROOT): boolean {
  return existsSync(artifactPath(batchVerifierContractName(size), root));
}

/** Deploys a bound contract with typed constructor arguments and waits until it is mined. */
export async function deployContract<K extends DeployableName>(
  name: K,
  args: ConstructorArgs[K],
  runner: ContractRunner,
): Promise<ContractTypes[K]> {
  const { abi, bytecode } = loadArtifact(name);
  const contract = await new ContractFactory(abi, bytecode, runner).deploy(...args);
  await contract.waitForDeployment();
  return contract as unknown as ContractTypes[K];
}

/** Deploys a generated verifier (no constructor arguments) by contract name. */
async function deployGenerated<T>(name: string, runner: ContractRunner): Promise<T> {
  const { abi, bytecode } = loadArtifact(name);
  const contract = await new ContractFactory(abi, bytecode, runner).deploy();
  await contract.waitForDeployment();
  return contract as unknown as T;
}

/** Deploys the snarkjs-generated verifier of segment size N. */
export function deployVerifier(size: number, runner: ContractRunner): Promise<IGroth16Verifier5> {
  return deployGenerated(verifierContractName(size), runner);
}

/** Deploys the batch verifier of segment size N (register it with router.setBatchVerifier). */
export function deployBatchVerifier(size: number, runner: ContractRunner): Promise<ISegmentBatchVerifier> {
  return deployGenerated(batchVerifierContractName(size), runner);
}

/** Whether the challenge circuit's verifier of size N has been generated and compiled. */
export function hasChallengeVerifierArtifact(size: number, root = REPO_ROOT): boolean {
  return existsSync(artifactPath(challengeVerifierContractName(size), root));
}

/** Deploys the snarkjs-generated verifier of ImplausibleRecord(N) (for PlausibilityChallenge). */
export function deployChallengeVerifier(size: number, runner: ContractRunner): Promise<IGroth16Verifier7> {
  return deployGenerated(challengeVerifierContractName(size), runner);
}

/** Deploys the snarkjs-generated verifier of the key-possession circuit (worker registration). */
export function deployKeyVerifier(runner: ContractRunner): Promise<IGroth16Verifier2> {
  return deployGenerated(KEY_VERIFIER_CONTRACT, runner);
}

/** A typed handle on a deployed contract. */
export function attachContract<K extends BoundContractName>(
  name: K,
  address: string,
  runner: ContractRunner | null = null,
): ContractTypes[K] {
  return new Contract(address, loadArtifact(name).abi, runner) as unknown as ContractTypes[K];
}

let combined: Interface | undefined;

/**
 * One ABI holding the errors and events of every meterproof contract (duplicates removed), to
 * decode revert data and logs whichever contract produced them: a revert from the verifier
 * router bubbles up through the escrow, for instance.
 */
export function meterproofInterface(): Interface {
  if (combined) return combined;
  const fragments = new Map<string, unknown>();
  const names: string[] = [
    "ComputeEscrow",
    "UsageVerifier",
    "WorkerRegistry",
    "SegmentVerifierRouter",
    "ComputeCredit",
    "ISegmentBatchVerifier",
    "PlausibilityChallenge",
  ];
  for (const name of names) {
    const iface = new Interface(loadArtifact(name).abi);
    for (const fragment of iface.fragments) {
      if (fragment.type === "error" || fragment.type === "event") {
        fragments.set(fragment.format("sighash"), JSON.parse(fragment.format("json")));
      }
    }
  }
  combined = new Interface([...fragments.values()] as InterfaceAbi);
  return combined;
}
