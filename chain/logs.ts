import type { Filter, Log, Provider } from "ethers";

/**
 * Whether an RPC error says the query was too big (block range or result count), in the
 * words the common providers use: geth and Erigon ("query returned more than 10000
 * results"), Alchemy ("Log response size exceeded"), Infura, QuickNode and others ("block
 * range is too large", "exceed maximum block range", "limit exceeded").
 */
export function isLogQueryTooBig(err: unknown): boolean {
  const text = errorText(err);
  return /block range|range (is )?too (large|wide|big)|more than \d+ (results|logs)|response size|limit exceeded|exceed(s|ed)? (the )?max|too many (results|logs|blocks)/i.test(
    text,
  );
}

function errorText(err: unknown): string {
  if (typeof err === "string") return err;
  if (!(err instanceof Error)) return json(err);
  // ethers wraps the node's answer; its message, `info` and nested `error` all may hold it.
  const { info, error } = err as Error & { info?: unknown; error?: unknown };
  return [
    err.message,
    info === undefined ? "" : json(info),
    error === undefined ? "" : errorText(error),
  ].join(" ");
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "";
  } catch {
    return String(value);
  }
}

/**
 * `getLogs` over [fromBlock, toBlock] that splits the range in halves whenever the node
 * refuses it as too big, so an audit from block 0 works on public RPC endpoints that cap
 * ranges or results. Any other error is thrown at once. Logs come back in chain order.
 */
export async function getLogsInRange(
  provider: Pick<Provider, "getLogs">,
  filter: Omit<Filter, "fromBlock" | "toBlock">,
  fromBlock: number,
  toBlock: number,
): Promise<Log[]> {
  if (toBlock < fromBlock) return [];
  try {
    return await provider.getLogs({ ...filter, fromBlock, toBlock });
  } catch (err) {
    if (toBlock === fromBlock || !isLogQueryTooBig(err)) throw err;
    const mid = fromBlock + Math.floor((toBlock - fromBlock) / 2);
    const first = await getLogsInRange(provider, filter, fromBlock, mid);
    const second = await getLogsInRange(provider, filter, mid + 1, toBlock);
    return [...first, ...second];
  }
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}
