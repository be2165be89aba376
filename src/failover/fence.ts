/**
 * Who is writing: this site and the lease epoch it holds. Every guarded ledger write carries both;
 * the ledger refuses a write whose epoch is no longer the open site's (fencing).
 */
export interface Fence {
  readonly site: string;
  readonly epoch: number;
}

/** A fence that never moves, for a single site that holds no lease. */
export function fixedFence(site: string, epoch = 0): () => Fence {
  const fence = { site, epoch };
  return () => fence;
}
