import { describe, expect, it } from 'vitest'
import { SSEParser, readSSE } from './sse'

describe('SSEParser', () => {
  it('parses events, multi-line data, comments and ids', () => {
    const p = new SSEParser()
    const evs = p.push(': keep-alive\n\nevent: delta\ndata: {"a":1}\n\ndata: line1\ndata: line2\nid: 7\n\n')
    expect(evs).toEqual([
      { event: 'delta', data: '{"a":1}' },
      { event: 'message', data: 'line1\nline2', id: '7' },
    ])
  })

  it('handles chunks split anywhere, including inside \\r\\n', () => {
    const stream = 'event: x\r\ndata: hello\r\n\r\ndata:no-space\r\rdata: [DONE]\n\n'
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new SSEParser()
      const evs = [...p.push(stream.slice(0, cut)), ...p.push(stream.slice(cut))]
      expect(evs.map((e) => e.data)).toEqual(['hello', 'no-space', '[DONE]'])
      expect(evs[0].event).toBe('x')
    }
  })

  it('ignores events without data and drops an unterminated last event', () => {
    const p = new SSEParser()
    expect(p.push('event: ping\n\n')).toEqual([])
    expect(p.push('data: partial')).toEqual([])
    expect(p.end()).toEqual([])
  })

  it('keeps one leading space only and strips a BOM', () => {
    const p = new SSEParser()
    expect(p.push('\ufeffdata:  two spaces\n\n')).toEqual([{ event: 'message', data: ' two spaces' }])
  })

  it('reads a fetch body', async () => {
    const enc = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode('data: {"delta":"He'))
        c.enqueue(enc.encode('llo"}\n\nevent: done\ndata: {}\n\n'))
        c.close()
      },
    })
    const out = []
    for await (const e of readSSE(body)) out.push(e)
    expect(out).toEqual([{ event: 'message', data: '{"delta":"Hello"}' }, { event: 'done', data: '{}' }])
  })

  it('decodes UTF-8 split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: héllo ✓\n\n')
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]))
        c.close()
      },
    })
    const out = []
    for await (const e of readSSE(body)) out.push(e.data)
    expect(out).toEqual(['héllo ✓'])
  })
})
