/**
 * Hardhat Ignition module that deploys the whole meterproof set, the same as
 * chain/deploy.ts deployMeterproof:
 *   npx hardhat ignition deploy ignition/modules/Meterproof.ts --network localhost
 * Parameters (ignition/parameters.json or --parameters): maxClockSkewMs, closeGracePeriod,
 * requireAttestation, and the registry's stake terms: bondToken (an address; "credit" is not a
 * parameter value: build the module with `{ bondWithCredit: true }` for the set's own
 * ComputeCredit), minimumBond, unbondDelay, challengeWindow, reporterShareBps, treasury. Their
 * defaults turn bonds and the challenge window off. The verifiers deployed and registered are those of the circuit sizes
 * in METERPROOF_CIRCUIT_SIZES (e.g. "8,64"), by default every size whose generated verifier
 * is compiled among 8 and 64. Each size's batch verifier (SegmentGroth16BatchVerifier{N}, written
 * by the same `meterproof setup --size N`) is deployed and registered beside it when compiled.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroAddress, encodeBytes32String, id } from "ethers";
import {
  DEFAULT_CLOSE_GRACE_PERIOD,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_RATE_CARD,
} from "../../chain/deploy.ts";
import type { EnergyRule } from "../../challenge/energy-rule.ts";
import {
  KEY_VERIFIER_CONTRACT,
  batchVerifierContractName,
  challengeVerifierContractName,
  hasVerifierArtifact,
  verifierContractName,
} from "../../contracts/index.ts";

/**
 * The module for a given list of circuit sizes (segment sizes N). `bondWithCredit` makes the
 * set's own ComputeCredit the bond token (the bondToken parameter is then ignored). `challenge`
 * adds the PlausibilityChallenge of ImplausibleRecord(size) with the registry's slasher role; it
 * needs a challengeWindow parameter above 0 (its constructor refuses an escrow without one).
 */
export function meterproofModule(
  circuitSizes: readonly number[],
  opts: { bondWithCredit?: boolean; challenge?: { size: number; rule: EnergyRule } } = {},
) {
  return buildModule("Meterproof", (m) => {
    const admin = m.getAccount(0);
    const maxClockSkewMs = m.getParameter("maxClockSkewMs", DEFAULT_MAX_CLOCK_SKEW_MS);
    const closeGracePeriod = m.getParameter("closeGracePeriod", DEFAULT_CLOSE_GRACE_PERIOD);
    const requireAttestation = m.getParameter("requireAttestation", false);

    const credit = m.contract("ComputeCredit", [admin]);
    const keyVerifier = m.contract(KEY_VERIFIER_CONTRACT, []);
    const stakeTerms = {
      token: opts.bondWithCredit ? credit : m.getParameter("bondToken", ZeroAddress),
      minimumBond: m.getParameter("minimumBond", 0n),
      unbondDelay: m.getParameter("unbondDelay", 0),
      challengeWindow: m.getParameter("challengeWindow", 0),
      reporterShareBps: m.getParameter("reporterShareBps", 0),
      treasury: m.getParameter("treasury", ZeroAddress),
    };
    const registry = m.contract("WorkerRegistry", [admin, requireAttestation, keyVerifier, stakeTerms]);
    const router = m.contract("SegmentVerifierRouter", [admin]);
    for (const size of circuitSizes) {
      const verifier = m.contract(verifierContractName(size), [], { id: `Verifier${size}` });
      m.call(router, "setVerifier", [size, verifier], { id: `SetVerifier${size}` });
      const batch = m.contract(batchVerifierContractName(size), [], { id: `BatchVerifier${size}` });
      m.call(router, "setBatchVerifier", [size, batch], { id: `SetBatchVerifier${size}` });
    }
    const usageVerifier = m.contract("UsageVerifier", [router]);
    const escrow = m.contract("ComputeEscrow", [
      admin,
      registry,
      usageVerifier,
      maxClockSkewMs,
      closeGracePeriod,
    ]);
    for (const [deviceClass, weight] of Object.entries(DEFAULT_RATE_CARD)) {
      m.call(escrow, "setDeviceWeight", [encodeBytes32String(deviceClass), weight], {
        id: `Weight_${deviceClass}`,
      });
    }
    if (opts.challenge) {
      const { size, rule } = opts.challenge;
      const verifier = m.contract(challengeVerifierContractName(size), [], {
        id: `ChallengeVerifier${size}`,
      });
      const challenge = m.contract("PlausibilityChallenge", [escrow, verifier, size, { ...rule }]);
      m.call(registry, "grantRole", [SLASHER_ROLE, challenge], { id: "GrantSlasherRole" });
    }
    return { credit, keyVerifier, registry, router, usageVerifier, escrow };
  });
}

/** WorkerRegistry.SLASHER_ROLE. */
const SLASHER_ROLE = id("SLASHER_ROLE");

function circuitSizes(): number[] {
  const env = process.env.METERPROOF_CIRCUIT_SIZES;
  if (env) return env.split(",").map((s) => Number(s.trim()));
  return [8, 64].filter((size) => hasVerifierArtifact(size));
}

export default meterproofModule(circuitSizes());
