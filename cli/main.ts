import { Command, CommanderError } from "commander";
import { registerKeygen } from "./commands/keygen.ts";
import { registerSetup } from "./commands/setup.ts";
import { registerTrace } from "./commands/trace.ts";
import { registerWorker } from "./commands/worker.ts";
import { registerProve } from "./commands/prove.ts";
import { registerVerify } from "./commands/verify.ts";
import { registerSchema } from "./commands/schema.ts";
import { registerDeploy } from "./commands/deploy.ts";
import { registerJob } from "./commands/job.ts";
import { registerSubmit } from "./commands/submit.ts";
import { registerWithdraw } from "./commands/withdraw.ts";
import { registerKeystore } from "./commands/keystore.ts";
import { registerAudit } from "./commands/audit.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerCredit } from "./commands/credit.ts";
import { registerVerifier } from "./commands/verifier.ts";
import { registerConfig } from "./commands/config.ts";
import { registerStatus } from "./commands/status.ts";
import { registerBalance } from "./commands/balance.ts";
import { registerNetwork } from "./commands/network.ts";
import { registerDashboard } from "./commands/dashboard.ts";
import { registerAttest } from "./commands/attest.ts";
import { registerProvider } from "./commands/provider.ts";
import { registerChallenge } from "./commands/challenge.ts";
import { EXIT_BAD_INPUT, reportError } from "./output.ts";
import { applyProjectConfig, loadProjectConfig } from "./project-config.ts";

const program = new Command()
  .name("meterproof")
  .description(
    "verifiable compute metering: signed GPU traces, Groth16 proofs of metered work, on-chain payouts",
  )
  .version("0.1.0")
  .showHelpAfterError("(run the command with --help for its options)")
  .exitOverride();

registerKeygen(program);
registerSetup(program);
registerTrace(program);
registerWorker(program);
registerProve(program);
registerVerify(program);
registerSchema(program);
registerDeploy(program);
registerJob(program);
registerSubmit(program);
registerWithdraw(program);
registerKeystore(program);
registerAudit(program);
registerDemo(program);
registerCredit(program);
registerVerifier(program);
registerConfig(program);
registerStatus(program);
registerBalance(program);
registerNetwork(program);
registerDashboard(program);
registerAttest(program);
registerProvider(program);
registerChallenge(program);

try {
  // The project config fills what flags and environment variables leave open.
  const config = loadProjectConfig();
  if (config) applyProjectConfig(program, config);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has printed help or its own message already.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else {
    process.exitCode = reportError(err);
  }
}
