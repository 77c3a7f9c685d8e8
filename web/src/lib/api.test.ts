import { describe, expect, it, vi } from 'vitest'
import { ApiClient, ApiError, storageSessionStore, type Session, type SessionStore } from './api'

function memStore(initial: Session | null = null): SessionStore & { value: Session | null } {
  const s = {
    value: initial,
    load: () => (s.value ? { ...s.value } : null),
    save: (v: Session | null) => { s.value = v },
  }
  return s
}

const user = { id: 'u1', email: 'a@example.com', name: 'A', role: 'user' as const, created_at: '', updated_at: '' }
const session = (n: number): Session => ({ token: `at${n}`, refresh_token: `rt_${n}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), user })

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}

/** A fake API: access tokens in `valid` are accepted; refresh tokens rotate and are single use. */
function fakeServer(opts: { valid: Set<string>; refreshable: Map<string, number> }) {
  let next = 100
  const calls: { url: string; auth: string | null; body?: string }[] = []
  const fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    const u = String(url)
    const headers = (init?.headers ?? {}) as Record<string, string>
    calls.push({ url: u, auth: headers['Authorization'] ?? null, body: init?.body as string })
    if (u.endsWith('/api/auth/refresh')) {
      const rt = JSON.parse(String(init?.body)).refresh_token
      if (!opts.refreshable.has(rt)) return json(401, { error: { code: 'unauthorized', message: 'refresh token is invalid' } })
      opts.refreshable.delete(rt)
      const n = next++
      opts.valid.add(`at${n}`)
      opts.refreshable.set(`rt_${n}`, n)
      return json(200, session(n))
    }
    const tok = headers['Authorization']?.replace('Bearer ', '')
    if (!tok || !opts.valid.has(tok)) return json(401, { error: { code: 'unauthorized', message: 'token expired' } }, { 'WWW-Authenticate': 'Bearer realm="vibecode"' })
    return json(200, { ok: true, token: tok })
  })
  return { fetch, calls }
}

describe('ApiClient', () => {
  it('sends the bearer token and parses JSON', async () => {
    const srv = fakeServer({ valid: new Set(['at1']), refreshable: new Map([['rt_1', 1]]) })
    const api = new ApiClient({ store: memStore(session(1)), fetch: srv.fetch as typeof fetch, lock: (_n, f) => f() })
    await expect(api.get('/api/workspaces')).resolves.toEqual({ ok: true, token: 'at1' })
    expect(srv.calls[0].auth).toBe('Bearer at1')
  })

  it('refreshes once on 401, rotates the refresh token and retries', async () => {
    const srv = fakeServer({ valid: new Set(), refreshable: new Map([['rt_1', 1]]) })
    const store = memStore(session(1))
    const api = new ApiClient({ store, fetch: srv.fetch as typeof fetch, lock: (_n, f) => f() })
    const r = await api.get<{ token: string }>('/api/workspaces')
    expect(r.token).toBe('at100')
    expect(store.value?.refresh_token).toBe('rt_100')
    expect(srv.calls.map((c) => c.url)).toEqual(['/api/workspaces', '/api/auth/refresh', '/api/workspaces'])
  })

  it('refreshes only once for concurrent 401s', async () => {
    const srv = fakeServer({ valid: new Set(), refreshable: new Map([['rt_1', 1]]) })
    const api = new ApiClient({ store: memStore(session(1)), fetch: srv.fetch as typeof fetch, lock: (_n, f) => f() })
    const rs = await Promise.all([api.get('/api/a'), api.get('/api/b'), api.get('/api/c')])
    expect(rs.every((r: any) => r.token === 'at100')).toBe(true)
    expect(srv.calls.filter((c) => c.url.endsWith('/refresh'))).toHaveLength(1)
  })

  it('adopts tokens another tab refreshed instead of spending the refresh token again', async () => {
    const srv = fakeServer({ valid: new Set(['at7']), refreshable: new Map([['rt_7', 7]]) })
    const store = memStore(session(1))
    const api = new ApiClient({ store, fetch: srv.fetch as typeof fetch, lock: (_n, f) => f() })
    store.value = session(7) // the other tab rotated rt_1 -> rt_7
    await expect(api.get('/api/x')).resolves.toMatchObject({ token: 'at7' })
    expect(srv.calls.filter((c) => c.url.endsWith('/refresh'))).toHaveLength(0)
    expect(api.token).toBe('at7')
  })

  it('ends the session visibly when the refresh is refused', async () => {
    const srv = fakeServer({ valid: new Set(), refreshable: new Map() })
    const store = memStore(session(1))
    const expired = vi.fn()
    const api = new ApiClient({ store, fetch: srv.fetch as typeof fetch, lock: (_n, f) => f(), onSessionExpired: expired })
    const err: any = await api.get('/api/x').catch((e: any) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(401)
    expect(expired).toHaveBeenCalledOnce()
    expect(expired.mock.calls[0][0]).toMatch(/expired/)
    expect(store.value).toBeNull()
    expect(api.session).toBeNull()
  })

  it('gives up after one retry when the new token is refused too', async () => {
    const srv = fakeServer({ valid: new Set(), refreshable: new Map([['rt_1', 1]]) })
    // every access token is refused, even fresh ones
    const fetch = vi.fn(async (u: any, init: any) => {
      const r = await srv.fetch(u, init)
      if (!String(u).endsWith('/refresh')) return json(401, { error: { code: 'unauthorized', message: 'no' } })
      return r
    })
    const expired = vi.fn()
    const api = new ApiClient({ store: memStore(session(1)), fetch: fetch as typeof globalThis.fetch, lock: (_n, f) => f(), onSessionExpired: expired })
    await expect(api.get('/api/x')).rejects.toMatchObject({ status: 401 })
    expect(fetch).toHaveBeenCalledTimes(3)
    expect(expired).toHaveBeenCalledOnce()
  })

  it('turns network failures into ApiError(0) and reports connectivity', async () => {
    const online = vi.fn()
    const api = new ApiClient({ store: memStore(session(1)), fetch: (async () => { throw new TypeError('Failed to fetch') }) as any, lock: (_n, f) => f(), onConnectivity: online })
    const err: any = await api.get('/api/x').catch((e: any) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.network).toBe(true)
    expect(online).toHaveBeenCalledWith(false)
  })

  it('reads the error body', async () => {
    const api = new ApiClient({ store: memStore(session(1)), fetch: (async () => json(409, { error: { code: 'conflict', message: 'an account with this email already exists' } })) as any, lock: (_n, f) => f() })
    await expect(api.post('/api/x', {})).rejects.toMatchObject({ status: 409, code: 'conflict', message: 'an account with this email already exists' })
  })

  it('login stores the session; logout forgets it and ends it on the server', async () => {
    const store = memStore()
    const calls: string[] = []
    const fetch = vi.fn(async (u: any, init: any) => {
      calls.push(`${init.method} ${u} ${init.body ?? ''}`)
      return String(u).endsWith('/login') ? json(200, session(3)) : new Response(null, { status: 204 })
    })
    const api = new ApiClient({ store, fetch: fetch as any, lock: (_n, f) => f() })
    await api.login('a@example.com', 'password1')
    expect(store.value?.token).toBe('at3')
    await api.logout()
    expect(store.value).toBeNull()
    expect(calls[1]).toBe('POST /api/auth/logout {"refresh_token":"rt_3"}')
  })

  it('storageSessionStore survives garbage', () => {
    const m = new Map<string, string>([['vibecode.session', '{not json']])
    const st = storageSessionStore({ getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k) })
    expect(st.load()).toBeNull()
    st.save(session(1))
    expect(st.load()?.token).toBe('at1')
    st.save(null)
    expect(m.size).toBe(0)
  })
})
