/**
 * Checks of the paths commands read and write, made before any work starts, so a wrong path
 * is one line naming the argument and the rule instead of an fs error deep in a command.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CliError } from "./output.ts";

/** A file to read: it exists and is not a folder. `what` names the argument ("--key", "TRACE"). */
export function requireFile(what: string, path: string): string {
  if (!existsSync(path)) throw new CliError(`${what} ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new CliError(`${what} ${path}: is a folder; give a file`);
  return path;
}

/** A file to create: its folder exists, and the path itself is not a folder. */
export function requireWritableFile(what: string, path: string): string {
  const folder = dirname(resolve(path));
  if (!existsSync(folder))
    throw new CliError(`${what} ${path}: the folder ${folder} does not exist; create it first`);
  if (!statSync(folder).isDirectory()) throw new CliError(`${what} ${path}: ${folder} is not a folder`);
  if (existsSync(path) && statSync(path).isDirectory())
    throw new CliError(`${what} ${path}: is a folder; give a file name`);
  return path;
}
