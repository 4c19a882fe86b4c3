/**
 * meterproof as a library: what `import … from "meterproof"` gives another project (package.json
 * `exports` maps "meterproof" to the build of this file). It names the parts a network, a
 * prover or an auditor composes: the trace model, the prover, the off-chain verifier, the
 * auditor and the chain bindings. "meterproof/trace", "meterproof/chain" and
 * "meterproof/contracts" give those modules whole.
 */
// snarkjs ships no types: the package ships the declarations its own signatures use, and a
// reference marked preserve is the one kind tsc keeps in the emitted dist/index.d.ts.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./prover/snarkjs.d.ts" preserve="true" />

// The trace model: formats and schemas (trace lines, proof bundles), reading and checking
// traces, hashing, jobTag, worker keys and seal signatures, segments and units.
export * from "./trace/index.ts";

// The prover: proof bundles of a trace's sealed segments, and the worker's key-possession proof.
export {
  expectedPublicSignals,
  makeBundle,
  proveTrace,
  type ProveProgress,
  type ProveTraceOptions,
  type ProveTraceResult,
  type ProvingCircuit,
} from "./prover/prove-trace.ts";
export { loadCircuit, loadProvingCircuit, type LoadedCircuit } from "./prover/load-circuit.ts";
export { SegmentProver, type SegmentProof } from "./prover/segment-prover.ts";
export {
  segmentWitnessInput,
  traceSegmentWitnessInput,
  type SegmentSource,
  type SegmentWitnessInput,
} from "./prover/witness-input.ts";
export { bundleFileName, readBundleDir, writeBundleAtomic } from "./prover/bundle-file.ts";
export {
  keyPossessionWitnessInput,
  proveKeyPossession,
  verifyKeyPossession,
  type KeyPossessionProof,
  type KeyPossessionWitnessInput,
} from "./prover/key-possession.ts";

// Circuit specs and the paths of their setup artifacts (zkey, wasm, verification key, manifest).
export {
  checkArtifactHashes,
  challengeArtifacts,
  challengeSpec,
  CHALLENGE_PUBLIC_SIGNALS,
  circuitArtifacts,
  CircuitError,
  DEFAULT_SEGMENT_SIZE,
  KEY_POSSESSION_SPEC,
  keyPossessionArtifacts,
  MAX_SEGMENT_SIZE,
  readManifest,
  SEGMENT_PUBLIC_SIGNALS,
  segmentSpec,
  type CircuitArtifacts,
  type CircuitManifest,
  type CircuitSpec,
} from "./circuits/index.ts";

// The off-chain verifier: proof bundles against pinned verification keys, one or many at once.
export {
  checkBundleStatement,
  closeVerifier,
  verifyBundle,
  type BundleVerdict,
  type VerificationKey,
} from "./verifier/verify-bundle.ts";
export {
  batchVerifyGroth16,
  verifyBundles,
  type BundleResult,
  type Groth16Statement,
  type VerifyBundlesOptions,
} from "./verifier/batch-verify.ts";
export { loadVerificationKeys } from "./verifier/load-keys.ts";

// The auditor: replays a trace and compares it with what the chain accepted.
export {
  auditTrace,
  PLAUSIBILITY,
  type AcceptedSegment,
  type AuditReport,
  type AuditSubject,
  type ChainState,
  type ChainView,
  type Finding,
  type Status as AuditStatus,
} from "./verifier/audit.ts";
export { readJobChainView, type ChainSegment, type JobChainView } from "./chain/audit-view.ts";

// Plausibility challenges: the energy rule, the proof that a record breaks it, and what a trace
// holds to challenge (the chain side, findPendingSegment and challengeArgs, is in chain/).
export * from "./challenge/index.ts";

// Chain bindings: deployment, submissions, events, revert decoding and lane order.
export * from "./chain/index.ts";

// The contracts: artifacts (ABI and bytecode), typed deploy and attach helpers, typed bindings
// ("meterproof/contracts" also has every event and struct type).
export {
  artifactPath,
  attachContract,
  batchVerifierContractName,
  BOUND_CONTRACTS,
  deployBatchVerifier,
  deployChallengeVerifier,
  challengeVerifierContractName,
  deployContract,
  deployKeyVerifier,
  deployVerifier,
  KEY_VERIFIER_CONTRACT,
  loadArtifact,
  meterproofInterface,
  verifierContractName,
  type BoundContractName,
  type ContractArtifact,
  type DeployableName,
} from "./contracts/index.ts";
export type {
  BatchEntryInput,
  ComputeCredit,
  ComputeEscrow,
  ConstructorArgs,
  ContractErrorName,
  ContractTypes,
  IGroth16Verifier2,
  IGroth16Verifier5,
  IGroth16Verifier7,
  ISegmentBatchVerifier,
  PlausibilityChallenge,
  SegmentVerifierRouter,
  SubmissionInput,
  UsageVerifier,
  WorkerRegistry,
} from "./contracts/bindings.ts";
