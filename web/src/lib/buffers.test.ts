import { describe, expect, it } from 'vitest'
import { dropBuffer, listBuffers, loadBuffer, restoreDecision, storeBuffer } from './buffers'

function kv() {
  const m = new Map<string, string>()
  return {
    m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => { if (v.length > 100_000) throw new DOMException('full', 'QuotaExceededError'); m.set(k, v) },
    removeItem: (k: string) => void m.delete(k),
    key: (i: number) => [...m.keys()][i] ?? null,
    get length() { return m.size },
  }
}

describe('buffers', () => {
  it('stores, lists and drops per user and workspace', () => {
    const s = kv()
    expect(storeBuffer(s, 'u', 'w', 'src/a.go', { text: 'x', baseEtag: '"1"', savedAt: '' })).toBe(true)
    storeBuffer(s, 'u', 'w', 'b.go', { text: 'y', baseEtag: null, savedAt: '' })
    storeBuffer(s, 'u', 'other', 'c.go', { text: 'z', baseEtag: null, savedAt: '' })
    expect(listBuffers(s, 'u', 'w')).toEqual(['b.go', 'src/a.go'])
    expect(loadBuffer(s, 'u', 'w', 'src/a.go')?.text).toBe('x')
    dropBuffer(s, 'u', 'w', 'src/a.go')
    expect(loadBuffer(s, 'u', 'w', 'src/a.go')).toBeNull()
  })

  it('reports a full storage instead of throwing', () => {
    expect(storeBuffer(kv(), 'u', 'w', 'big', { text: 'x'.repeat(200_000), baseEtag: null, savedAt: '' })).toBe(false)
  })

  it('decides when to restore unsaved edits', () => {
    expect(restoreDecision(null, { text: 'a', etag: '"1"' })).toEqual({ restore: false })
    expect(restoreDecision({ text: 'a', baseEtag: '"1"', savedAt: '' }, { text: 'a', etag: '"2"' })).toEqual({ restore: false })
    expect(restoreDecision({ text: 'mine', baseEtag: '"1"', savedAt: '' }, { text: 'a', etag: '"1"' })).toEqual({ restore: true, text: 'mine', etag: '"1"', stale: false })
    expect(restoreDecision({ text: 'mine', baseEtag: '"1"', savedAt: '' }, { text: 'b', etag: '"2"' })).toEqual({ restore: true, text: 'mine', etag: '"1"', stale: true })
    expect(restoreDecision({ text: 'new file', baseEtag: null, savedAt: '' }, null)).toEqual({ restore: true, text: 'new file', etag: null, stale: false })
  })
})
