import { existsSync, readFileSync } from "node:fs";
import { circuitArtifacts, fileSha256, readManifest } from "../circuits/index.ts";
import type { VerificationKey } from "./verify-bundle.ts";

/**
 * The verification keys of every circuit that has a setup manifest, each checked against
 * the hash its manifest pins; a key whose file changed is left out and reported.
 */
export async function loadVerificationKeys(
  sizes: readonly number[],
): Promise<{ keys: Map<number, VerificationKey>; problems: string[] }> {
  const keys = new Map<number, VerificationKey>();
  const problems: string[] = [];
  for (const size of sizes) {
    const paths = circuitArtifacts(size);
    if (!existsSync(paths.manifest)) continue;
    const manifest = readManifest(size);
    const actual = await fileSha256(paths.vkey);
    if (actual !== manifest.artifacts.vkey.sha256) {
      problems.push(
        `circuit ${size}: verification key sha256 ${actual} differs from the manifest's ${manifest.artifacts.vkey.sha256}`,
      );
      continue;
    }
    keys.set(size, {
      circuitId: size,
      vkey: JSON.parse(readFileSync(paths.vkey, "utf8")),
      vkeySha256: "0x" + actual,
    });
  }
  return { keys, problems };
}
