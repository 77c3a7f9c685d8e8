import { describe, expect, it } from 'vitest'
import { ApiClient } from './api'
import { MAX_EDITOR_BYTES, moveFiles, readFile, resolveConflict, saveFile } from './files'

/** An in-memory files API with strong ETags (the content itself, quoted) and If-Match / If-None-Match. */
function fakeFilesAPI(initial: Record<string, string>) {
  const files = new Map(Object.entries(initial))
  const etag = (c: string) => `"${c.length}:${[...c].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7)}"`
  const calls: string[] = []
  const fetch = async (url: RequestInfo | URL, init: RequestInit = {}) => {
    const path = decodeURIComponent(String(url).replace(/^\/api\/workspaces\/w\/files\//, ''))
    const h = (init.headers ?? {}) as Record<string, string>
    const method = init.method ?? 'GET'
    calls.push(`${method} ${path}${h['If-Match'] ? ` if-match` : ''}${h['If-None-Match'] ? ' if-none-match' : ''}`)
    const cur = files.get(path)
    if (method === 'GET') {
      if (cur === undefined) return new Response(JSON.stringify({ error: { code: 'not_found', message: `file not found: ${path}` } }), { status: 404 })
      return new Response(cur, { status: 200, headers: { ETag: etag(cur), 'Content-Type': 'text/plain; charset=utf-8', 'X-File-Language': 'go', 'X-File-Version': '1' } })
    }
    const pre = (h['If-Match'] && (cur === undefined || (h['If-Match'] !== '*' && h['If-Match'] !== etag(cur)))) || (h['If-None-Match'] === '*' && cur !== undefined)
    if (pre) return new Response(JSON.stringify({ error: { code: 'precondition_failed', message: 'precondition failed' } }), { status: 412 })
    if (method === 'DELETE') {
      files.delete(path)
      return new Response(null, { status: 204 })
    }
    const body = typeof init.body === 'string' ? init.body : new TextDecoder().decode(init.body as Uint8Array)
    files.set(path, body)
    return new Response(JSON.stringify({ path, size: body.length, hash: 'h', language: 'go', version: 2, modified_at: '' }), { status: cur === undefined ? 201 : 200, headers: { ETag: etag(body) } })
  }
  const api = new ApiClient({
    store: { load: () => ({ token: 't', refresh_token: 'rt_1', expires_at: new Date(Date.now() + 3e6).toISOString(), user: { id: 'u' } as any }), save: () => {} },
    fetch: fetch as typeof globalThis.fetch,
    lock: (_n, f) => f(),
  })
  return { api, files, etag, calls }
}

describe('saving with If-Match', () => {
  it('saves over the version the editor started from', async () => {
    const f = fakeFilesAPI({ 'a.go': 'v1' })
    const r = await saveFile(f.api, 'w', 'a.go', 'v2', f.etag('v1'))
    expect(r).toMatchObject({ kind: 'saved', etag: f.etag('v2') })
    expect(f.files.get('a.go')).toBe('v2')
  })

  it('reports a conflict with their version when the file changed meanwhile, writing nothing', async () => {
    const f = fakeFilesAPI({ 'a.go': 'theirs' })
    const r = await saveFile(f.api, 'w', 'a.go', 'mine', f.etag('original'))
    expect(r).toEqual({ kind: 'conflict', theirs: { text: 'theirs', etag: f.etag('theirs') } })
    expect(f.files.get('a.go')).toBe('theirs')
  })

  it('a file deleted meanwhile is a conflict with nothing on their side', async () => {
    const f = fakeFilesAPI({})
    expect(await saveFile(f.api, 'w', 'gone.go', 'mine', f.etag('x'))).toEqual({ kind: 'conflict', theirs: null })
  })

  it('a new file is created only if nobody created it first', async () => {
    const f = fakeFilesAPI({ 'b.go': 'someone' })
    expect((await saveFile(f.api, 'w', 'b.go', 'mine', null)).kind).toBe('conflict')
    expect((await saveFile(f.api, 'w', 'c.go', 'mine', null)).kind).toBe('saved')
  })

  it('keep mine writes over their version; take theirs writes nothing', async () => {
    const f = fakeFilesAPI({ 'a.go': 'theirs' })
    const theirs = { text: 'theirs', etag: f.etag('theirs') }
    const t = await resolveConflict(f.api, 'w', 'a.go', 'mine', theirs, 'theirs')
    expect(t).toEqual({ text: 'theirs', etag: theirs.etag, saved: null })
    expect(f.files.get('a.go')).toBe('theirs')
    const m = await resolveConflict(f.api, 'w', 'a.go', 'mine', theirs, 'mine')
    expect(m.saved?.kind).toBe('saved')
    expect(f.files.get('a.go')).toBe('mine')
  })

  it('keep mine conflicts again if a third change came in', async () => {
    const f = fakeFilesAPI({ 'a.go': 'third' })
    const m = await resolveConflict(f.api, 'w', 'a.go', 'mine', { text: 'theirs', etag: f.etag('theirs') }, 'mine')
    expect(m.saved).toEqual({ kind: 'conflict', theirs: { text: 'third', etag: f.etag('third') } })
    expect(f.files.get('a.go')).toBe('third')
  })
})

describe('reading', () => {
  it('tells text, binary, missing and too large apart', async () => {
    const f = fakeFilesAPI({ 'a.go': 'package a', 'img.png': '\u0000\u0001PNG' })
    expect(await readFile(f.api, 'w', 'a.go')).toMatchObject({ kind: 'text', text: 'package a', language: 'go' })
    expect((await readFile(f.api, 'w', 'img.png')).kind).toBe('binary')
    expect((await readFile(f.api, 'w', 'nope.go')).kind).toBe('missing')
    expect(await readFile(f.api, 'w', 'big.log', MAX_EDITOR_BYTES + 1)).toEqual({ kind: 'too-large', size: MAX_EDITOR_BYTES + 1 })
  })
})

describe('moving', () => {
  it('copies with If-None-Match then deletes with If-Match, per file', async () => {
    const f = fakeFilesAPI({ 'src/a.go': 'A', 'src/b.go': 'B' })
    const r = await moveFiles(f.api, 'w', [{ from: 'src/a.go', to: 'lib/a.go' }, { from: 'src/b.go', to: 'lib/b.go' }])
    expect(r.error).toBeUndefined()
    expect([...f.files.keys()].sort()).toEqual(['lib/a.go', 'lib/b.go'])
    expect(f.calls).toContain('PUT lib/a.go if-none-match')
    expect(f.calls).toContain('DELETE src/a.go if-match')
  })

  it('stops at a destination that exists and reports what was moved', async () => {
    const f = fakeFilesAPI({ 'a.go': 'A', 'b.go': 'B', 'x/b.go': 'exists' })
    const r = await moveFiles(f.api, 'w', [{ from: 'a.go', to: 'x/a.go' }, { from: 'b.go', to: 'x/b.go' }])
    expect(r.done).toEqual([{ from: 'a.go', to: 'x/a.go' }])
    expect(r.error?.message).toMatch(/x\/b\.go already exists/)
    expect(f.files.get('x/b.go')).toBe('exists')
    expect(f.files.get('b.go')).toBe('B')
  })
})
