import { describe, expect, it, vi } from 'vitest'
import { ApiClient } from './api'
import { aiErrorMessage, interpret, streamAI } from './ai'

describe('interpret', () => {
  it('reads deltas, the final event and errors', () => {
    const out: string[] = []
    const onDone = vi.fn()
    const h = { onDelta: (t: string) => out.push(t), onDone }
    expect(interpret({ event: 'delta', data: '{"delta":"Hel"}' }, h)).toBe('continue')
    interpret({ event: 'message', data: '{"choices":[{"delta":{"content":"lo"}}]}' }, h)
    interpret({ event: 'ping', data: '{}' }, h)
    expect(interpret({ event: 'done', data: '{"model":"m","citations":[{"label":"[a.go:1-2]","path":"a.go","start_line":1,"end_line":2,"snippet":"x"}]}' }, h)).toBe('done')
    expect(out.join('')).toBe('Hello')
    expect(onDone.mock.calls[0][0].citations[0].path).toBe('a.go')
    expect(() => interpret({ event: 'error', data: '{"error":{"code":"unavailable","message":"provider down"}}' }, h)).toThrow('provider down')
  })
})

describe('streamAI', () => {
  const store = () => {
    let v: any = { token: 't', refresh_token: 'rt_1', expires_at: new Date(Date.now() + 3e6).toISOString(), user: { id: 'u' } }
    return { load: () => v, save: (x: any) => { v = x } }
  }

  it('streams an SSE answer from fetch', async () => {
    const body = 'event: delta\ndata: {"delta":"Hi "}\n\nevent: delta\ndata: {"delta":"there"}\n\nevent: done\ndata: {"cost_usd":0.001}\n\n'
    const fetch = vi.fn(async () => new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }))
    const api = new ApiClient({ store: store(), fetch: fetch as any, lock: (_n, f) => f() })
    let text = ''
    const done = await streamAI(api, '/api/ai/chat', { messages: [] }, { onDelta: (t) => { text += t } })
    expect(text).toBe('Hi there')
    expect(done?.cost_usd).toBe(0.001)
  })

  it('turns a 503 into a configure-a-provider message', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: { code: 'unavailable', message: 'no AI provider is configured: set OPENAI_API_KEY (openai)' } }), { status: 503 }))
    const api = new ApiClient({ store: store(), fetch: fetch as any, lock: (_n, f) => f() })
    const err = await streamAI(api, '/api/ai/chat', {}, { onDelta: () => {} }).catch((e: any) => e)
    expect(aiErrorMessage(err)).toMatch(/set OPENAI_API_KEY.*Configure a provider/)
  })
})
