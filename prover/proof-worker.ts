// Worker thread of the segment prover: loads the circuit's wasm and zkey once (sent by the
// parent as bytes), keeps snarkjs' BN254 curve for its lifetime, and proves one witness
// input per message.
import { parentPort, workerData } from "node:worker_threads";
import { WitnessCalculatorBuilder } from "circom_runtime";
import * as snarkjs from "snarkjs";

export interface ProofWorkerData {
  wasm: Uint8Array;
  zkey: Uint8Array;
}
export type ProofRequest = { id: number; input: Record<string, unknown> } | { id: -1; close: true };
export type ProofResponse =
  | { id: number; ok: true; proof: snarkjs.Groth16Proof; publicSignals: string[] }
  | { id: number; ok: false; error: string };

const port = parentPort;
if (!port) throw new Error("proof-worker.ts must run in a worker thread");
const { wasm, zkey } = workerData as ProofWorkerData;
const calculator = WitnessCalculatorBuilder(wasm);

port.on("message", async (msg: ProofRequest) => {
  if ("close" in msg) {
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
    port.close();
    return;
  }
  try {
    const witness = await (await calculator).calculateWTNSBin(msg.input, true);
    const { proof, publicSignals } = await snarkjs.groth16.prove({ type: "mem", data: zkey }, { type: "mem", data: witness });
    port.postMessage({ id: msg.id, ok: true, proof, publicSignals } satisfies ProofResponse);
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).message } satisfies ProofResponse);
  }
});
