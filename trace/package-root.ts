import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The root of the meterproof package: the nearest folder at or above the module at `moduleUrl`
 * that holds a package.json. It is the repository when the TypeScript sources run
 * (`trace/native.ts`) and the installed package when the built JavaScript does
 * (`node_modules/meterproof/dist/trace/native.js`), so the files shipped beside dist/ (native/,
 * artifacts/, circuits/) are found from either.
 */
export function packageRoot(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json in ${start} or any folder above it`);
    dir = parent;
  }
}
