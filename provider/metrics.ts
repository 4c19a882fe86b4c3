import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The agent's Prometheus metrics, in a registry of their own. */
export class ProviderMetrics {
  readonly registry = new Registry();
  readonly proofs = new Counter({
    name: "meterproof_provider_proofs_total",
    help: "Segment proofs finished, by result (ok, failed)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly provingSeconds = new Histogram({
    name: "meterproof_provider_proving_seconds",
    help: "Seconds from asking the pool for a proof to a checked bundle",
    buckets: [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "meterproof_provider_queue_depth",
    help: "Segments sealed and waiting for a proof or being proven",
    registers: [this.registry],
  });
  readonly submitGas = new Counter({
    name: "meterproof_provider_submit_gas_total",
    help: "Gas used by the agent's submit transactions",
    registers: [this.registry],
  });
  readonly gasPerSegment = new Histogram({
    name: "meterproof_provider_submit_gas_per_segment",
    help: "Gas of a submit transaction divided by the segments it carried",
    buckets: [50e3, 75e3, 100e3, 150e3, 200e3, 300e3, 500e3],
    registers: [this.registry],
  });
  readonly sealToPaidSeconds = new Histogram({
    name: "meterproof_provider_seal_to_paid_seconds",
    help: "Seconds from a segment's last record (its seal) to its payout being credited on chain",
    buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  readonly segmentsAccepted = new Counter({
    name: "meterproof_provider_segments_accepted_total",
    help: "Segments the escrow accepted from this agent",
    registers: [this.registry],
  });

  /** Serves /metrics on `port` (0: any free port); resolves with the server once it listens. */
  serve(port: number, host = "0.0.0.0"): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end("see /metrics\n");
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
