// Unsaved editor buffers kept in localStorage, so nothing typed is lost to a lost connection,
// a crash or a closed tab: written (debounced) while a buffer is dirty, removed once it is
// saved, offered back when the file is opened again.

export interface StoredBuffer {
  text: string
  /** The ETag the edits started from (null: a file created in the editor, not yet saved). */
  baseEtag: string | null
  savedAt: string
}

type KV = Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'>

/** Buffers above this size are not stored (localStorage holds about 5 MB per origin). */
export const MAX_STORED_BUFFER = 1_500_000

export function bufferKey(userId: string, ws: string, path: string): string {
  return `vibecode.buf.${userId}.${ws}.${path}`
}

export function loadBuffer(kv: KV, userId: string, ws: string, path: string): StoredBuffer | null {
  try {
    const raw = kv.getItem(bufferKey(userId, ws, path))
    if (!raw) return null
    const b = JSON.parse(raw)
    return typeof b?.text === 'string' ? b : null
  } catch {
    return null
  }
}

/** Stores a buffer; false when it could not be (too large, storage full or disabled). */
export function storeBuffer(kv: KV, userId: string, ws: string, path: string, b: StoredBuffer): boolean {
  if (b.text.length > MAX_STORED_BUFFER) return false
  try {
    kv.setItem(bufferKey(userId, ws, path), JSON.stringify(b))
    return true
  } catch {
    return false
  }
}

export function dropBuffer(kv: KV, userId: string, ws: string, path: string): void {
  try {
    kv.removeItem(bufferKey(userId, ws, path))
  } catch { /* nothing to do */ }
}

/** The paths of every stored buffer of a workspace. */
export function listBuffers(kv: KV, userId: string, ws: string): string[] {
  const prefix = bufferKey(userId, ws, '')
  const out: string[] = []
  try {
    for (let i = 0; i < kv.length; i++) {
      const k = kv.key(i)
      if (k?.startsWith(prefix)) out.push(k.slice(prefix.length))
    }
  } catch { /* none */ }
  return out.sort()
}

/**
 * What to do with a stored buffer when its file is opened: nothing (it matches the server, or
 * there is none), or restore it as unsaved changes. When the server moved on since the edits
 * started (baseEtag differs), saving will raise the conflict dialog rather than overwrite.
 */
export function restoreDecision(stored: StoredBuffer | null, server: { text: string; etag: string } | null): { restore: false } | { restore: true; text: string; etag: string | null; stale: boolean } {
  if (!stored) return { restore: false }
  if (server && stored.text === server.text) return { restore: false }
  const stale = server ? stored.baseEtag !== server.etag : stored.baseEtag !== null
  return { restore: true, text: stored.text, etag: stored.baseEtag, stale }
}

/** Open tabs per workspace, restored on reload. */
export function tabsKey(userId: string, ws: string): string {
  return `vibecode.tabs.${userId}.${ws}`
}
