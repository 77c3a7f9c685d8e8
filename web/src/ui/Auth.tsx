import { useState } from 'preact/hooks'
import { ApiError } from '../lib/api'
import { useValue } from '../lib/signal'
import { loadState, needsOnboarding } from '../lib/onboarding'
import { api, loginReason, message, navigate, routeQuery } from './app'

function safeNext(): string {
  const n = routeQuery().get('next') ?? '/'
  return n.startsWith('/') && !n.startsWith('//') ? n : '/'
}

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const reason = useValue(loginReason)
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const signup = mode === 'signup'

  const submit = async (e: Event) => {
    e.preventDefault()
    setError(null)
    if (signup && new TextEncoder().encode(password).length < 8) {
      setError('The password needs at least 8 characters.')
      return
    }
    setBusy(true)
    try {
      const s = signup ? await api.signup(email.trim(), password, name.trim()) : await api.login(email.trim(), password)
      loginReason.value = null
      const onboarding = loadState(localStorage, s.user.id)
      if (signup || needsOnboarding(onboarding) && onboarding !== null) navigate('/welcome', true)
      else navigate(safeNext(), true)
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The email or password is incorrect.' : message(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="auth-page">
      <form class="auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <div class="brand" aria-hidden="true"><span class="logo">▲</span> VibeCode</div>
        <h1 id="auth-title">{signup ? 'Create your account' : 'Log in'}</h1>
        {reason && !signup && <p class="notice warning" role="status">{reason}</p>}
        {signup && (
          <label class="field">
            <span>Name</span>
            <input name="name" autocomplete="name" required maxLength={100} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label class="field">
          <span>Email</span>
          <input name="email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>Password</span>
          <input name="password" type="password" autocomplete={signup ? 'new-password' : 'current-password'} required minLength={signup ? 8 : 1} maxLength={72}
            value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} aria-describedby={signup ? 'pw-hint' : undefined} />
          {signup && <small id="pw-hint">8 to 72 characters.</small>}
        </label>
        {error && <p class="form-error" role="alert">{error}</p>}
        <button type="submit" class="primary wide" disabled={busy}>{busy ? 'Please wait…' : signup ? 'Sign up' : 'Log in'}</button>
        <p class="auth-switch">
          {signup ? 'Already have an account? ' : 'New to VibeCode? '}
          <a href={signup ? '/login' : '/signup'} onClick={(e) => { e.preventDefault(); navigate(signup ? '/login' : '/signup') }}>
            {signup ? 'Log in' : 'Create an account'}
          </a>
        </p>
      </form>
    </main>
  )
}
