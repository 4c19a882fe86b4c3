import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundleJsonSchema, bundleSchema } from "../trace/index.ts";

describe("bundle JSON Schema", () => {
  it("docs/bundle.schema.json is the current schema (regenerate with `meterproof schema bundle`)", () => {
    const committed = JSON.parse(
      readFileSync(new URL("../docs/bundle.schema.json", import.meta.url), "utf8"),
    );
    expect(committed).toEqual(bundleJsonSchema());
  });

  it("names the field and the rule of a malformed bundle", () => {
    const r = bundleSchema.safeParse({ kind: "meterproof-segment-bundle", version: 2, circuitId: 0 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ["circuitId"], message: "must be positive" });
  });

  it("refuses a version-1 bundle, whose job has no terms", () => {
    const r = bundleSchema.safeParse({ kind: "meterproof-segment-bundle", version: 1, circuitId: 8 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({
      path: ["version"],
      message: expect.stringMatching(/^must be 2/),
    });
  });
});
