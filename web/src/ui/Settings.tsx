import { useEffect, useState } from 'preact/hooks'
import { ApiError } from '../lib/api'
import { initialState, saveState, type ThemeChoice } from '../lib/onboarding'
import { useValue } from '../lib/signal'
import { setTheme, themeChoice } from '../lib/theme'
import { api, message, navigate, session } from './app'
import { fetchProviders, ProvidersView, type ProvidersResult } from './Onboarding'
import { TopBar } from './TopBar'

export interface UsageInfo {
  since: string
  requests: number
  errors: number
  cancelled: number
  cache_hits: number
  tokens_in: number
  tokens_out: number
  cost_usd: number
  daily_budget_usd: number | null
  spent_today_usd: number
  by_model: { provider: string; model: string; requests: number; tokens_in: number; tokens_out: number; cost_usd: number }[]
}

export function usd(v: number): string {
  return v === 0 ? '$0' : v < 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`
}

export function UsageView({ days }: { days: number }) {
  const [u, setU] = useState<UsageInfo | null>(null)
  const [err, setErr] = useState<string | null>(null)
  useEffect(() => {
    setU(null)
    api.get<UsageInfo>(`/api/ai/usage?days=${days}`).then(setU, (e) => setErr(e instanceof ApiError && (e.status === 404 || e.status === 503) ? 'Usage is not available on this server.' : message(e)))
  }, [days])
  if (err) return <p class="muted">{err}</p>
  if (!u) return <p class="muted">Loading usage…</p>
  return (
    <div>
      <dl class="stats">
        <div><dt>Requests</dt><dd>{u.requests}</dd></div>
        <div><dt>Tokens in / out</dt><dd>{u.tokens_in.toLocaleString()} / {u.tokens_out.toLocaleString()}</dd></div>
        <div><dt>Cost</dt><dd>{usd(u.cost_usd)}</dd></div>
        <div><dt>Spent today</dt><dd>{usd(u.spent_today_usd)}{u.daily_budget_usd != null && ` of ${usd(u.daily_budget_usd)}`}</dd></div>
        <div><dt>Cache hits</dt><dd>{u.cache_hits}</dd></div>
        <div><dt>Errors</dt><dd>{u.errors}</dd></div>
      </dl>
      {u.daily_budget_usd != null && (
        <div class="budget">
          <label for="budget-meter">Today's budget</label>
          <meter id="budget-meter" min={0} max={u.daily_budget_usd} value={u.spent_today_usd} high={u.daily_budget_usd * 0.8} />
        </div>
      )}
      {u.by_model.length > 0 && (
        <table class="table">
          <caption class="sr-only">Usage by model</caption>
          <thead><tr><th scope="col">Provider</th><th scope="col">Model</th><th scope="col">Requests</th><th scope="col">Tokens in / out</th><th scope="col">Cost</th></tr></thead>
          <tbody>
            {u.by_model.map((m) => (
              <tr key={m.provider + m.model}><td>{m.provider}</td><td>{m.model}</td><td>{m.requests}</td><td>{m.tokens_in} / {m.tokens_out}</td><td>{usd(m.cost_usd)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

export function SettingsBody() {
  const s = useValue(session)
  const theme = useValue(themeChoice)
  const [providers, setProviders] = useState<ProvidersResult | null>(null)
  const [days, setDays] = useState(1)
  useEffect(() => { void fetchProviders().then(setProviders) }, [])
  return (
    <div class="settings">
      <section aria-labelledby="set-theme">
        <h2 id="set-theme">Theme</h2>
        <div class="segmented" role="radiogroup" aria-labelledby="set-theme">
          {(['light', 'dark', 'system'] as ThemeChoice[]).map((t) => (
            <label key={t} class={theme === t ? 'selected' : ''}>
              <input type="radio" name="settings-theme" checked={theme === t} onChange={() => setTheme(t, s?.user.id)} />
              {t === 'system' ? 'System' : t[0].toUpperCase() + t.slice(1)}
            </label>
          ))}
        </div>
      </section>
      <section aria-labelledby="set-ai">
        <h2 id="set-ai">AI providers</h2>
        <ProvidersView result={providers} />
      </section>
      <section aria-labelledby="set-usage">
        <h2 id="set-usage">Usage and cost</h2>
        <label class="field inline">
          <span>Period</span>
          <select value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
            <option value="1">Last 24 hours</option>
            <option value="7">Last 7 days</option>
            <option value="30">Last 30 days</option>
          </select>
        </label>
        <UsageView days={days} />
      </section>
      {s && (
        <section aria-labelledby="set-account">
          <h2 id="set-account">Account</h2>
          <p>{s.user.name} &lt;{s.user.email}&gt; · {s.user.role}</p>
          <div class="row-actions">
            <button type="button" onClick={() => { saveState(localStorage, s.user.id, initialState()); navigate('/welcome') }}>Run the setup again</button>
            <button type="button" onClick={async () => { await api.logout(); navigate('/login') }}>Log out</button>
          </div>
        </section>
      )}
    </div>
  )
}

export function Settings() {
  return (
    <div class="page">
      <TopBar />
      <main class="page-body" aria-labelledby="settings-title">
        <h1 id="settings-title">Settings</h1>
        <SettingsBody />
      </main>
    </div>
  )
}
