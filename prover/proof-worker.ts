// Worker thread of the segment prover: holds the circuit's wasm and zkey (sent by the
// parent as bytes) and one single-threaded curve for its lifetime; proves one witness input
// per message.
import { parentPort, workerData } from "node:worker_threads";
import type { Groth16Proof } from "snarkjs";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import { Groth16Engine } from "./groth16.ts";

export interface ProofWorkerData {
  wasm: Uint8Array;
  zkey: Uint8Array;
  mod: string;
}
export type ProofRequest = { id: number; input: Record<string, unknown> } | { id: -1; close: true };
export type ProofResponse =
  | { id: number; ok: true; proof: Groth16Proof; publicSignals: string[] }
  | { id: number; ok: false; error: string };

const port = parentPort;
if (!port) throw new Error("proof-worker.ts must run in a worker thread");
const { wasm, zkey } = workerData as ProofWorkerData;
const engine = new Groth16Engine({ wasm, zkey, singleThread: true });

port.on("message", async (msg: ProofRequest) => {
  if ("close" in msg) {
    await releaseCurve();
    port.close();
    return;
  }
  try {
    const { proof, publicSignals } = await engine.prove(msg.input);
    port.postMessage({ id: msg.id, ok: true, proof, publicSignals } satisfies ProofResponse);
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies ProofResponse);
  }
});
