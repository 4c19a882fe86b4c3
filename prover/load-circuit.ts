import { readFileSync } from "node:fs";
import {
  checkSpecArtifactHashes,
  CircuitError,
  readSpecManifest,
  REPO_ROOT,
  segmentSpec,
  specArtifacts,
  type CircuitSpec,
} from "../circuits/index.ts";
import type { ProvingCircuit } from "./prove-trace.ts";

/** A circuit's proving files in memory, checked against its setup manifest. */
export interface LoadedCircuit {
  wasm: Uint8Array;
  zkey: Uint8Array;
  /** The verification key (snarkjs JSON). */
  vkey: unknown;
  /** SHA-256 of the verification key file, 0x-prefixed. */
  vkeySha256: string;
}

/**
 * Loads the wasm, zkey and verification key of a circuit after checking every artifact
 * against the SHA-256 its setup manifest pins, so a proof is never made with a changed key.
 * A missing or changed setup is a CircuitError naming the command that builds it.
 */
export async function loadCircuit(spec: CircuitSpec, root = REPO_ROOT): Promise<LoadedCircuit> {
  const problems = await checkSpecArtifactHashes(spec, root);
  if (problems.length > 0) {
    throw new CircuitError(
      `circuit ${spec.name} artifacts`,
      `differ from the setup manifest: ${problems.join("; ")}; run \`${spec.setupCommand}\``,
    );
  }
  const paths = specArtifacts(spec, root);
  return {
    wasm: new Uint8Array(readFileSync(paths.wasm)),
    zkey: new Uint8Array(readFileSync(paths.zkey)),
    vkey: JSON.parse(readFileSync(paths.vkey, "utf8")) as unknown,
    vkeySha256: "0x" + readSpecManifest(spec, root).artifacts.vkey.sha256,
  };
}

/** Loads MeteredSegment(size) for proving (see loadCircuit). */
export async function loadProvingCircuit(size: number, root = REPO_ROOT): Promise<ProvingCircuit> {
  const { wasm, zkey, vkeySha256 } = await loadCircuit(segmentSpec(size), root);
  return { size, wasm, zkey, vkeySha256 };
}
