// Prints the gas of segment verification and submission: `node scripts/gas.ts`
// (the same figures `npm run bench -- gas` puts in bench/RESULTS.md).
import { benchGas } from "../bench/gas.ts";

const section = await benchGas();
const width = Math.max(...section.rows.map((r) => r.metric.length));
console.log(section.title);
for (const row of section.rows)
  console.log(`  ${row.metric.padEnd(width)}  ${row.value.padStart(12)}  ${row.note ?? ""}`);
for (const note of section.notes ?? []) console.log(`  ${note}`);
