/**
 * Why evidence was refused. `refused` is a failed check (the evidence is well formed but does
 * not prove what it must: wrong nonce, broken chain, unknown measurement…); `malformed` is bad
 * input (not a report, a file that does not parse). The message names the field and the rule.
 */
export class AttestError extends Error {
  override readonly name = "AttestError";
  readonly field: string;
  readonly rule: string;
  readonly kind: "refused" | "malformed";

  constructor(field: string, rule: string, kind: "refused" | "malformed" = "refused") {
    super(`${field} ${rule}`);
    this.field = field;
    this.rule = rule;
    this.kind = kind;
  }
}

/** A malformed-input error: exit 2 in the CLI. */
export function malformed(field: string, rule: string): AttestError {
  return new AttestError(field, rule, "malformed");
}
