// The API client: JSON calls, raw responses (files, SSE) and XHR uploads against /api, with
// the session's access token, one refresh-and-retry on 401 (refresh tokens rotate), and a
// visible end of the session when the refresh fails.

export type Role = 'user' | 'admin' | 'service'

export interface User {
  id: string
  email: string
  name: string
  role: Role
  created_at: string
  updated_at: string
}

export interface Session {
  token: string
  refresh_token: string
  expires_at: string
  user: User
}

/** An error answer of the API ({"error":{"code","message"}}), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly retryAfter?: number
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
  /** The API could not be reached at all (offline, server down, CORS, aborted proxy). */
  get network(): boolean {
    return this.status === 0
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError' || (err as { name?: string })?.name === 'AbortError'
}

/** Reads the API's error body into an ApiError; anything else gets a message from the status. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = statusCode(res.status)
  let message = `${res.status} ${res.statusText || 'error'}`
  try {
    const text = await res.text()
    const body = JSON.parse(text)
    if (body && typeof body === 'object' && body.error) {
      if (typeof body.error === 'string') message = body.error
      else {
        code = body.error.code || code
        message = body.error.message || message
      }
    } else if (text) message = text.slice(0, 300)
  } catch {
    // not JSON: keep the status text
  }
  const ra = Number(res.headers.get('Retry-After'))
  return new ApiError(res.status, code, message, Number.isFinite(ra) && ra > 0 ? ra : undefined)
}

function statusCode(status: number): string {
  switch (status) {
    case 400: return 'invalid'
    case 401: return 'unauthorized'
    case 403: return 'forbidden'
    case 404: return 'not_found'
    case 409: return 'conflict'
    case 412: return 'precondition_failed'
    case 413: return 'too_large'
    case 429: return 'rate_limited'
    case 503: return 'unavailable'
    default: return 'internal'
  }
}

/** Where the session lives between page loads (localStorage in the browser, a map in tests). */
export interface SessionStore {
  load(): Session | null
  save(s: Session | null): void
}

export function storageSessionStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>, key = 'vibecode.session'): SessionStore {
  return {
    load() {
      try {
        const raw = storage.getItem(key)
        if (!raw) return null
        const s = JSON.parse(raw)
        return s && typeof s.token === 'string' && typeof s.refresh_token === 'string' && s.user ? s : null
      } catch {
        return null
      }
    },
    save(s) {
      try {
        if (s) storage.setItem(key, JSON.stringify(s))
        else storage.removeItem(key)
      } catch {
        // storage full or disabled: the session lives in memory for this tab only
      }
    },
  }
}

/** Serializes refreshes across tabs (Web Locks) so two tabs never spend the same refresh token. */
export type LockFn = <T>(name: string, fn: () => Promise<T>) => Promise<T>

export const webLock: LockFn = (name, fn) => {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks
  return locks ? (locks.request(name, () => fn()) as ReturnType<typeof fn>) : fn()
}

export interface RequestOptions {
  method?: string
  /** A JSON body (objects are serialized); strings, Blobs and buffers are sent as they are. */
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
  /** false: send no credentials (signup, login, refresh). */
  auth?: boolean
}

export interface ApiClientOptions {
  baseUrl?: string
  fetch?: typeof fetch
  store: SessionStore
  lock?: LockFn
  now?: () => number
  /** Called once when the session ends without the user asking (refresh refused). */
  onSessionExpired?: (message: string) => void
  /** Called when the API becomes unreachable or reachable again. */
  onConnectivity?: (online: boolean) => void
}

export type SessionListener = (s: Session | null) => void

export class ApiClient {
  readonly baseUrl: string
  private readonly fetchFn: typeof fetch
  private readonly store: SessionStore
  private readonly lock: LockFn
  private readonly now: () => number
  private readonly opts: ApiClientOptions
  private current: Session | null
  private refreshing: Promise<boolean> | null = null
  private listeners = new Set<SessionListener>()
  private online = true

  constructor(opts: ApiClientOptions) {
    this.opts = opts
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/$/, '')
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init))
    this.store = opts.store
    this.lock = opts.lock ?? webLock
    this.now = opts.now ?? Date.now
    this.current = opts.store.load()
  }

  get session(): Session | null {
    return this.current
  }

  get user(): User | null {
    return this.current?.user ?? null
  }

  get token(): string | null {
    return this.current?.token ?? null
  }

  onSession(fn: SessionListener): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private setSession(s: Session | null) {
    this.current = s
    this.store.save(s)
    for (const fn of this.listeners) fn(s)
  }

  /** Another tab changed the stored session (storage event): adopt it. */
  reloadSession() {
    const s = this.store.load()
    if (s?.token !== this.current?.token) {
      this.current = s
      for (const fn of this.listeners) fn(s)
    }
  }

  private setOnline(v: boolean) {
    if (v !== this.online) {
      this.online = v
      this.opts.onConnectivity?.(v)
    }
  }

  async signup(email: string, password: string, name: string): Promise<Session> {
    const s = await this.json<Session>('/api/auth/signup', { method: 'POST', body: { email, password, name }, auth: false })
    this.setSession(s)
    return s
  }

  async login(email: string, password: string): Promise<Session> {
    const s = await this.json<Session>('/api/auth/login', { method: 'POST', body: { email, password }, auth: false })
    this.setSession(s)
    return s
  }

  /** Ends the session on the server (best effort) and forgets it here. */
  async logout(): Promise<void> {
    const s = this.current
    this.setSession(null)
    if (!s) return
    try {
      await this.send('/api/auth/logout', { method: 'POST', body: { refresh_token: s.refresh_token }, auth: false })
    } catch {
      // the tokens are gone from this browser either way
    }
  }

  /**
   * Trades the refresh token for new tokens, once at a time (in this tab and, with Web Locks,
   * across tabs). `failedToken` is the access token that was refused: when the stored session
   * already holds another one, a concurrent refresh (maybe in another tab) won and it is used
   * instead of spending the refresh token again (which would end the session: reuse detection).
   * Resolves false when the session is over; rejects on network failure.
   */
  refresh(failedToken?: string | null): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.lock('vibecode-refresh', () => this.doRefresh(failedToken ?? this.current?.token ?? null))
        .finally(() => { this.refreshing = null })
    }
    return this.refreshing
  }

  private async doRefresh(failedToken: string | null): Promise<boolean> {
    const s = this.store.load() ?? this.current
    if (!s) return false
    if (s.token !== failedToken) {
      // Already refreshed (by a concurrent request or another tab): use the newer tokens.
      if (s.token !== this.current?.token) this.setSession(s)
      return true
    }
    const res = await this.raw('/api/auth/refresh', { method: 'POST', body: { refresh_token: s.refresh_token }, auth: false })
    if (res.ok) {
      this.setSession(await res.json())
      return true
    }
    if (res.status === 401 || res.status === 400) {
      this.expire('Your session has expired. Please log in again.')
      return false
    }
    throw await errorFromResponse(res)
  }

  private expire(message: string) {
    if (!this.current) return
    this.setSession(null)
    this.opts.onSessionExpired?.(message)
  }

  private buildInit(opts: RequestOptions, token: string | null): RequestInit {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) }
    let body: BodyInit | undefined
    const b = opts.body
    if (b === undefined || b === null) body = undefined
    else if (typeof b === 'string' || b instanceof Blob || b instanceof ArrayBuffer || ArrayBuffer.isView(b) || b instanceof FormData) body = b as BodyInit
    else {
      body = JSON.stringify(b)
      headers['Content-Type'] ??= 'application/json'
    }
    if (token && opts.auth !== false) headers['Authorization'] = `Bearer ${token}`
    return { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, signal: opts.signal, credentials: 'same-origin' }
  }

  /** One request, no retry; network failures become ApiError(0). */
  private async raw(path: string, opts: RequestOptions, token: string | null = null): Promise<Response> {
    try {
      const res = await this.fetchFn(this.baseUrl + path, this.buildInit(opts, token))
      this.setOnline(true)
      return res
    } catch (err) {
      if (isAbort(err)) throw err
      this.setOnline(false)
      throw new ApiError(0, 'network', 'Cannot reach the VibeCode server. Check your connection; your work is kept in this browser.')
    }
  }

  private expiresSoon(): boolean {
    const exp = Date.parse(this.current?.expires_at ?? '')
    return Number.isFinite(exp) && exp - this.now() < 30_000
  }

  /**
   * A request with the session's credentials; on 401 the tokens are refreshed once and the
   * request is sent again. Returns the response whatever its status (callers check ok).
   */
  async send(path: string, opts: RequestOptions = {}): Promise<Response> {
    if (opts.auth === false) return this.raw(path, opts)
    if (this.current && this.expiresSoon()) {
      try { await this.refresh(this.current.token) } catch { /* the request will tell */ }
    }
    const token = this.current?.token ?? null
    if (!token) throw new ApiError(401, 'unauthorized', 'Please log in.') // the router shows the login page
    const res = await this.raw(path, opts, token)
    if (res.status !== 401) return res
    if (!(await this.refresh(token))) throw new ApiError(401, 'unauthorized', 'Your session has expired. Please log in again.')
    const again = await this.raw(path, opts, this.current?.token ?? null)
    if (again.status === 401) {
      this.expire('Your session has expired. Please log in again.')
      throw await errorFromResponse(again)
    }
    return again
  }

  /** A request whose answer is JSON (or nothing: 204); non-2xx throws ApiError. */
  async json<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts)
    if (!res.ok) throw await errorFromResponse(res)
    if (res.status === 204) return undefined as T
    const text = await res.text()
    return (text ? JSON.parse(text) : undefined) as T
  }

  get<T>(path: string, signal?: AbortSignal) {
    return this.json<T>(path, { signal })
  }

  post<T>(path: string, body?: unknown, signal?: AbortSignal) {
    return this.json<T>(path, { method: 'POST', body: body ?? {}, signal })
  }

  del(path: string) {
    return this.json<void>(path, { method: 'DELETE' })
  }

  /**
   * Uploads a body with XMLHttpRequest, for its upload progress events; refreshes once on 401
   * like send. onProgress gets (loaded, total).
   */
  async upload<T>(path: string, body: Blob, opts: { contentType?: string; onProgress?: (loaded: number, total: number) => void; signal?: AbortSignal; xhr?: () => XMLHttpRequest } = {}): Promise<T> {
    const attempt = (token: string | null) => new Promise<{ status: number; text: string; retryAfter: string | null }>((resolve, reject) => {
      const xhr = opts.xhr ? opts.xhr() : new XMLHttpRequest()
      xhr.open('POST', this.baseUrl + path)
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`)
      xhr.setRequestHeader('Content-Type', opts.contentType || body.type || 'application/octet-stream')
      xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : body.size)
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader('Retry-After') })
      xhr.onerror = () => { this.setOnline(false); reject(new ApiError(0, 'network', 'The upload failed: the server cannot be reached.')) }
      xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'))
      opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true })
      xhr.send(body)
    })
    const token = this.current?.token ?? null
    let r = await attempt(token)
    if (r.status === 401 && (await this.refresh(token))) r = await attempt(this.current?.token ?? null)
    this.setOnline(true)
    const res = new Response(r.text || null, { status: r.status, headers: r.retryAfter ? { 'Retry-After': r.retryAfter } : {} })
    if (r.status < 200 || r.status >= 300) {
      if (r.status === 401) this.expire('Your session has expired. Please log in again.')
      throw await errorFromResponse(res)
    }
    return (r.text ? JSON.parse(r.text) : undefined) as T
  }
}

/** Encodes a workspace file path for the URL: each segment escaped, slashes kept. */
export function filePathURL(workspaceId: string, path: string): string {
  return `/api/workspaces/${encodeURIComponent(workspaceId)}/files/${path.split('/').map(encodeURIComponent).join('/')}`
}
