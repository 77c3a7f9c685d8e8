// Application-wide state: the API client and session, the route, notices, connectivity.
import { ApiClient, storageSessionStore, type Session } from '../lib/api'
import { Signal } from '../lib/signal'
import { loadUserTheme } from '../lib/theme'

export interface Toast {
  id: number
  kind: 'info' | 'success' | 'error' | 'warning'
  text: string
  action?: { label: string; run: () => void }
}

export const toasts = new Signal<Toast[]>([])
let toastId = 0

export function notify(kind: Toast['kind'], text: string, opts: { timeout?: number; action?: Toast['action'] } = {}): number {
  const id = ++toastId
  toasts.value = [...toasts.value.filter((t) => t.text !== text), { id, kind, text, action: opts.action }]
  const timeout = opts.timeout ?? (kind === 'error' ? 10000 : 5000)
  if (timeout > 0) setTimeout(() => dismiss(id), timeout)
  return id
}

export function dismiss(id: number) {
  toasts.value = toasts.value.filter((t) => t.id !== id)
}

/** Whether the API answered the last request (false: show the offline banner). */
export const online = new Signal<boolean>(true)
/** Why the user is on the login page, e.g. the session expired. */
export const loginReason = new Signal<string | null>(null)

export const api = new ApiClient({
  // Same origin on the local stack; a static deployment (S3 + CloudFront, a GCS bucket) is
  // built with VITE_API_URL=https://<api gateway> to call the API there.
  baseUrl: import.meta.env.VITE_API_URL ?? '',
  store: storageSessionStore(localStorage),
  onSessionExpired: (message) => {
    loginReason.value = message
    const here = location.pathname + location.search
    navigate(`/login?next=${encodeURIComponent(here.startsWith('/login') ? '/' : here)}`, true)
  },
  onConnectivity: (v) => { online.value = v },
})

export const session = new Signal<Session | null>(api.session)
api.onSession((s) => {
  const before = session.value?.user.id
  session.value = s
  if (s && s.user.id !== before) loadUserTheme(s.user.id)
})
if (api.session) loadUserTheme(api.session.user.id)

// Another tab logged in, out or refreshed.
addEventListener('storage', (e) => {
  if (e.key === 'vibecode.session') api.reloadSession()
})
addEventListener('online', () => { online.value = true })
addEventListener('offline', () => { online.value = false })

export const route = new Signal<string>(location.pathname + location.search)

export function navigate(to: string, replace = false) {
  if (to === location.pathname + location.search) return
  if (replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  route.value = to
}

addEventListener('popstate', () => { route.value = location.pathname + location.search })

export function routePath(): string {
  return route.value.split('?')[0]
}

export function routeQuery(): URLSearchParams {
  const i = route.value.indexOf('?')
  return new URLSearchParams(i < 0 ? '' : route.value.slice(i + 1))
}

/** A message for an error, safe to show. */
export function message(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
