// Requests started before the code that needs them has loaded: opening /w/<id> cold spends
// most of its time compiling Monaco, so the workspace and its file list are fetched meanwhile.
const pending = new Map<string, Promise<unknown>>()

export function prefetch<T>(key: string, start: () => Promise<T>): void {
  if (pending.has(key)) return
  const p = start()
  p.catch(() => {}) // a failure is reported to whoever takes it
  pending.set(key, p)
  setTimeout(() => pending.delete(key), 30_000) // stale after a while
}

/** The prefetched result for key (once), or a fresh request. */
export function take<T>(key: string, start: () => Promise<T>): Promise<T> {
  const p = pending.get(key) as Promise<T> | undefined
  pending.delete(key)
  return p ?? start()
}
