// Workspace files through the API: reading (text, binary, too large), saving with If-Match
// so a concurrent change is never overwritten silently, conflict resolution, and moves.

import { ApiClient, ApiError, errorFromResponse, filePathURL } from './api'
import type { FileMeta, Move } from './paths'
import { isBinaryContent } from './paths'

/** Files larger than this open as "too large" instead of in the editor. */
export const MAX_EDITOR_BYTES = 5 * 1024 * 1024

export type Content =
  | { kind: 'text'; text: string; etag: string; language: string; version: number }
  | { kind: 'binary'; bytes: Uint8Array; etag: string; size: number; contentType: string }
  | { kind: 'too-large'; size: number }
  | { kind: 'missing' }

export async function listFiles(api: ApiClient, ws: string): Promise<FileMeta[]> {
  const r = await api.get<{ files: FileMeta[] }>(`/api/workspaces/${ws}/files`)
  return r.files ?? []
}

export async function readFile(api: ApiClient, ws: string, path: string, size?: number): Promise<Content> {
  if (size !== undefined && size > MAX_EDITOR_BYTES) return { kind: 'too-large', size }
  const res = await api.send(filePathURL(ws, path))
  if (res.status === 404) return { kind: 'missing' }
  if (!res.ok) throw await errorFromResponse(res)
  const etag = res.headers.get('ETag') ?? ''
  const len = Number(res.headers.get('Content-Length') ?? NaN)
  if (Number.isFinite(len) && len > MAX_EDITOR_BYTES) {
    res.body?.cancel().catch(() => {})
    return { kind: 'too-large', size: len }
  }
  const bytes = new Uint8Array(await res.arrayBuffer())
  const ct = res.headers.get('Content-Type') ?? ''
  if (bytes.length > MAX_EDITOR_BYTES) return { kind: 'too-large', size: bytes.length }
  if (ct.startsWith('application/octet-stream') || isBinaryContent(bytes)) {
    return { kind: 'binary', bytes, etag, size: bytes.length, contentType: ct }
  }
  return {
    kind: 'text',
    text: new TextDecoder().decode(bytes),
    etag,
    language: res.headers.get('X-File-Language') || 'plaintext',
    version: Number(res.headers.get('X-File-Version') ?? 0),
  }
}

export type SaveResult =
  | { kind: 'saved'; etag: string; file: FileMeta }
  | { kind: 'conflict'; theirs: { text: string; etag: string } | null }

/**
 * Writes content over the version the editor started from: If-Match with its ETag, or
 * If-None-Match: * for a file the editor created. 412 means someone else changed (or created,
 * or deleted) it since: the conflict carries their current version (null when it is gone).
 */
export async function saveFile(api: ApiClient, ws: string, path: string, content: string | Uint8Array | Blob, baseEtag: string | null): Promise<SaveResult> {
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' }
  if (baseEtag === '*') { /* no precondition: overwrite */ } else if (baseEtag) headers['If-Match'] = baseEtag
  else headers['If-None-Match'] = '*'
  const res = await api.send(filePathURL(ws, path), { method: 'PUT', body: content, headers })
  if (res.ok) {
    const file = (await res.json()) as FileMeta
    return { kind: 'saved', etag: res.headers.get('ETag') ?? `"${file.hash}"`, file }
  }
  if (res.status === 412) {
    const now = await readFile(api, ws, path)
    if (now.kind === 'text') return { kind: 'conflict', theirs: { text: now.text, etag: now.etag } }
    if (now.kind === 'missing') return { kind: 'conflict', theirs: null }
    throw new ApiError(412, 'precondition_failed', 'The file was replaced by a binary or very large file; reload it.')
  }
  throw await errorFromResponse(res)
}

export type Resolution = 'mine' | 'theirs'

/**
 * Resolves a save conflict. "mine" writes the editor's text over their version (If-Match with
 * their ETag, so a third change still conflicts); "theirs" drops the local edits.
 */
export async function resolveConflict(api: ApiClient, ws: string, path: string, mine: string, theirs: { text: string; etag: string } | null, choice: Resolution): Promise<{ text: string; etag: string | null; saved: SaveResult | null }> {
  if (choice === 'theirs') {
    return theirs ? { text: theirs.text, etag: theirs.etag, saved: null } : { text: mine, etag: null, saved: null }
  }
  const saved = await saveFile(api, ws, path, mine, theirs?.etag ?? null)
  return { text: mine, etag: saved.kind === 'saved' ? saved.etag : theirs?.etag ?? null, saved }
}

export async function deleteFile(api: ApiClient, ws: string, path: string, etag?: string): Promise<void> {
  const res = await api.send(filePathURL(ws, path), { method: 'DELETE', headers: etag ? { 'If-Match': etag } : {} })
  if (!res.ok && res.status !== 404) throw await errorFromResponse(res)
}

/**
 * Moves files (rename = move): each is copied to its new path (If-None-Match: *, so nothing is
 * overwritten) and then deleted at the old one (If-Match, so a concurrent edit is not lost).
 * Stops at the first failure and reports the moves done so far.
 */
export async function moveFiles(api: ApiClient, ws: string, moves: Move[], onStep?: (done: number, total: number) => void): Promise<{ done: Move[]; error?: ApiError }> {
  const done: Move[] = []
  for (const m of moves) {
    try {
      const res = await api.send(filePathURL(ws, m.from))
      if (!res.ok) throw await errorFromResponse(res)
      const etag = res.headers.get('ETag') ?? undefined
      const body = new Uint8Array(await res.arrayBuffer())
      const put = await api.send(filePathURL(ws, m.to), { method: 'PUT', body, headers: { 'If-None-Match': '*', 'Content-Type': 'application/octet-stream' } })
      if (!put.ok) {
        const e = await errorFromResponse(put)
        throw put.status === 412 ? new ApiError(412, e.code, `${m.to} already exists.`) : e
      }
      await deleteFile(api, ws, m.from, etag)
      done.push(m)
      onStep?.(done.length, moves.length)
    } catch (err) {
      return { done, error: err instanceof ApiError ? err : new ApiError(0, 'internal', String(err)) }
    }
  }
  return { done }
}
