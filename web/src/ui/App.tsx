import { lazy, Suspense } from 'preact/compat'
import { useEffect } from 'preact/hooks'
import { useValue } from '../lib/signal'
import { loadState, needsOnboarding } from '../lib/onboarding'
import { navigate, online, route, routePath, session } from './app'
import { AuthPage } from './Auth'
import { DialogHost } from './dialogs'
import { Onboarding } from './Onboarding'
import { Settings } from './Settings'
import { Toasts } from './Toasts'
import { WorkspacesPage } from './Workspaces'

// The IDE (Monaco, xterm, yjs) is its own chunk, loaded when a workspace is opened.
const Ide = lazy(() => import('../ide/Ide'))

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to])
  return null
}

function Routes() {
  useValue(route)
  const s = useValue(session)
  const path = routePath()
  if (path === '/login') return s ? <Redirect to="/" /> : <AuthPage mode="login" />
  if (path === '/signup') return s ? <Redirect to="/" /> : <AuthPage mode="signup" />
  if (!s) return <Redirect to={`/login?next=${encodeURIComponent(path + location.search)}`} />
  if (path === '/welcome') return <Onboarding />
  if (path === '/settings') return <Settings />
  const m = /^\/w\/([0-9a-f]{32})$/.exec(path)
  if (m) {
    return (
      <Suspense fallback={<div class="boot" role="status">Opening the workspace…</div>}>
        <Ide key={m[1]} workspaceId={m[1]} />
      </Suspense>
    )
  }
  if (path === '/') {
    const ob = loadState(localStorage, s.user.id)
    if (ob && needsOnboarding(ob)) return <Redirect to="/welcome" />
    return <WorkspacesPage />
  }
  return (
    <main class="page-body">
      <h1>Not found</h1>
      <p><a href="/" onClick={(e) => { e.preventDefault(); navigate('/') }}>Back to your workspaces</a></p>
    </main>
  )
}

function OfflineBanner() {
  const on = useValue(online)
  if (on) return null
  return (
    <div class="offline-banner" role="alert">
      Connection to the VibeCode server lost. Your edits are kept in this browser; saving resumes when the connection is back.
    </div>
  )
}

export function App() {
  return (
    <>
      <OfflineBanner />
      <Routes />
      <DialogHost />
      <Toasts />
    </>
  )
}
