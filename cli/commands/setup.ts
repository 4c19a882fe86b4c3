import type { Command } from "commander";
import { CircuitError, DEFAULT_SEGMENT_SIZE } from "../../circuits/index.ts";
import { checkSetup, runSetup } from "../../setup/index.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

const INSECURE_BANNER = [
  "INSECURE: this setup uses a development powers of tau made from a public beacon.",
  "INSECURE: anyone can forge proofs for it. Use it for tests and demos only; for real",
  "INSECURE: payouts run `meterproof setup --ptau <ceremony file>` with a public ceremony file.",
];

function parseSize(value: string): number {
  if (!/^[0-9]+$/.test(value))
    throw new CliError(`--size must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function registerSetup(program: Command): void {
  program
    .command("setup")
    .description(
      "compile MeteredSegment(N) (with KeyPossession() and the challenge circuit ImplausibleRecord(N)), run the Groth16 setup (phase 2 on a powers of tau), export the verification key and " +
        "Solidity verifier, and pin their hashes in a manifest; unchanged stages are reused",
    )
    .option("--size <N>", "segment size N (the circuit id)", parseSize, DEFAULT_SEGMENT_SIZE)
    .option("--ptau <file>", "phase-1 powers-of-tau ceremony file (default: an INSECURE development file)")
    .option("--beacon <hex>", "hex of the final phase-2 beacon (e.g. a future block hash)")
    .option("--force", "redo every stage even when its inputs are unchanged")
    .option(
      "--check",
      "only check that the verification key and verifier match the zkey in the manifest; exit 1 if not",
    )
    .option("--json", "print the result as JSON on stdout (progress goes to stderr)")
    .action(
      async (opts: {
        size: number;
        ptau?: string;
        beacon?: string;
        force?: boolean;
        check?: boolean;
        json?: boolean;
      }) => {
        // With --json, stdout carries only the result.
        const say = opts.json ? (line: string) => console.error(line) : (line: string) => console.log(line);
        try {
          if (opts.check) {
            const result = await checkSetup({ size: opts.size });
            if (opts.json)
              console.log(
                JSON.stringify({ size: opts.size, ok: result.ok, problems: result.problems }, null, 2),
              );
            if (!result.ok) {
              for (const p of result.problems) console.error(`  ${p}`);
              throw new CliError(
                `setup --check: segment_${opts.size}, key_possession or challenge_${opts.size} does not match its manifest`,
                EXIT_FAILED,
              );
            }
            say(
              `segment_${opts.size}, key_possession and challenge_${opts.size}: verification keys and verifiers match the zkeys pinned in their manifests`,
            );
            if (result.manifest?.setup.insecure) say(INSECURE_BANNER[0]!);
            return;
          }
          const t0 = performance.now();
          const result = await runSetup({
            size: opts.size,
            ...(opts.ptau ? { ptau: opts.ptau } : {}),
            ...(opts.beacon ? { beacon: opts.beacon } : {}),
            ...(opts.force ? { force: true } : {}),
            log: say,
          });
          const { manifest } = result;
          if (opts.json) {
            const seconds = (performance.now() - t0) / 1000;
            console.log(
              JSON.stringify(
                {
                  size: opts.size,
                  seconds,
                  manifest,
                  keyPossession: result.keyPossession?.manifest,
                  challenge: result.challenge?.manifest,
                },
                null,
                2,
              ),
            );
            return;
          }
          console.log(
            `setup of segment_${opts.size} done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
              `${manifest.circuit.constraints} constraints, zkey sha256 ${manifest.artifacts.zkey.sha256}`,
          );
          if (manifest.setup.insecure) for (const line of INSECURE_BANNER) console.log(line);
        } catch (err) {
          if (err instanceof CircuitError) throw new CliError(err.message);
          throw err;
        }
      },
    );
}
