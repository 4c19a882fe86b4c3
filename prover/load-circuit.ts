import { readFileSync } from "node:fs";
import {
  checkArtifactHashes,
  circuitArtifacts,
  CircuitError,
  readManifest,
  REPO_ROOT,
} from "../circuits/index.ts";
import type { ProvingCircuit } from "./prove-trace.ts";

/**
 * Loads the wasm and zkey of MeteredSegment(size) after checking every artifact against
 * the SHA-256 its setup manifest pins, so a proof is never made with a changed key.
 */
export async function loadProvingCircuit(size: number, root = REPO_ROOT): Promise<ProvingCircuit> {
  const problems = await checkArtifactHashes(size, root);
  if (problems.length > 0) {
    throw new CircuitError(
      `circuit ${size} artifacts`,
      `differ from the setup manifest: ${problems.join("; ")}; run \`meterproof setup --size ${size}\``,
    );
  }
  const paths = circuitArtifacts(size, root);
  return {
    size,
    wasm: new Uint8Array(readFileSync(paths.wasm)),
    zkey: new Uint8Array(readFileSync(paths.zkey)),
    vkeySha256: "0x" + readManifest(size, root).artifacts.vkey.sha256,
  };
}
