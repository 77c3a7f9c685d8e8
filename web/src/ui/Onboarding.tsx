import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../lib/api'
import { CLI_TOOLS, INTEGRATIONS, LANGUAGE_CHOICES, STEPS, STEP_TITLES, initialState, loadState, reduce, saveState, type Action, type Answers, type OnboardingState, type ThemeChoice } from '../lib/onboarding'
import { useValue } from '../lib/signal'
import { setTheme, themeChoice } from '../lib/theme'
import { api, message, navigate, notify, session } from './app'
import { createWorkspace, validateWorkspaceName, type Workspace } from './Workspaces'

export interface ProvidersInfo {
  configured: boolean
  providers: { name: string; models: { id: string; tier: string; context_tokens: number; input_usd_per_mtok: number; output_usd_per_mtok: number; fim: boolean }[]; cooling_down_until?: string }[]
  unconfigured: { name: string; configure: string }[]
  routing?: Record<string, string>
  embeddings?: { model: string }
}

export type ProvidersResult = { kind: 'ok'; info: ProvidersInfo } | { kind: 'absent'; message: string } | { kind: 'error'; message: string }

/** GET /api/ai/providers, with a missing route (404) or an unavailable gateway (503) told apart. */
export async function fetchProviders(): Promise<ProvidersResult> {
  try {
    return { kind: 'ok', info: await api.get<ProvidersInfo>('/api/ai/providers') }
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 503 || err.status === 501)) {
      return { kind: 'absent', message: err.status === 404 ? 'This server has no AI gateway yet.' : err.message }
    }
    return { kind: 'error', message: message(err) }
  }
}

export function ProvidersView({ result }: { result: ProvidersResult | null }) {
  if (!result) return <p class="muted">Checking the AI providers…</p>
  if (result.kind !== 'ok') {
    return (
      <div class="notice warning" role="status">
        <p><strong>No AI provider available.</strong> {result.message}</p>
        <p>An administrator configures providers on the server: set <code>OPENAI_API_KEY</code>, <code>ANTHROPIC_API_KEY</code> or <code>GEMINI_API_KEY</code>, or point <code>OPENAI_BASE_URL</code> at an OpenAI-compatible server (Ollama, LM Studio, vLLM) with <code>AI_MODELS</code>. The editor works without AI.</p>
      </div>
    )
  }
  const { info } = result
  return (
    <div>
      {!info.configured && (
        <div class="notice warning" role="status">
          <p><strong>No AI provider is configured.</strong> AI chat and completions are off until one is. The editor works without them.</p>
        </div>
      )}
      {info.providers.length > 0 && (
        <table class="table">
          <caption class="sr-only">Configured AI providers and models</caption>
          <thead><tr><th scope="col">Provider</th><th scope="col">Models</th><th scope="col">Status</th></tr></thead>
          <tbody>
            {info.providers.map((p) => (
              <tr key={p.name}>
                <td>{p.name}</td>
                <td>{p.models.map((m) => `${m.id} (${m.tier})`).join(', ') || '—'}</td>
                <td>{p.cooling_down_until ? `cooling down until ${new Date(p.cooling_down_until).toLocaleTimeString()}` : 'ready'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {info.unconfigured.length > 0 && (
        <details class="unconfigured">
          <summary>Other providers ({info.unconfigured.length}) and how to enable them</summary>
          <ul>{info.unconfigured.map((u) => <li key={u.name}><strong>{u.name}</strong>: {u.configure}</li>)}</ul>
        </details>
      )}
    </div>
  )
}

function Checks({ legend, items, value, onChange }: { legend: string; items: { id: string; label: string; hint?: string }[]; value: string[]; onChange: (v: string[]) => void }) {
  return (
    <fieldset class="checks">
      <legend>{legend}</legend>
      {items.map((it) => (
        <label key={it.id} class="check">
          <input type="checkbox" checked={value.includes(it.id)} onChange={(e) => {
            const on = (e.target as HTMLInputElement).checked
            onChange(on ? [...value, it.id] : value.filter((x) => x !== it.id))
          }} />
          <span>{it.label}{it.hint && <small class="muted"> — {it.hint}</small>}</span>
        </label>
      ))}
    </fieldset>
  )
}

export function Onboarding() {
  const s = useValue(session)!
  const user = s.user
  const [state, setState] = useState<OnboardingState>(() => loadState(localStorage, user.id) ?? initialState())
  const [draft, setDraft] = useState<Answers>(state.answers)
  const [wsName, setWsName] = useState(`${user.name.split(' ')[0] || 'my'}-project`.toLowerCase().replace(/[^\w.-]+/g, '-'))
  const [wsError, setWsError] = useState<string | null>(null)
  const [existing, setExisting] = useState<Workspace[] | null>(null)
  const [providers, setProviders] = useState<ProvidersResult | null>(null)
  const [busy, setBusy] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)
  const theme = useValue(themeChoice)
  const step = STEPS[state.step]

  useEffect(() => { saveState(localStorage, user.id, state) }, [state])
  // Move focus to the step's heading so screen readers announce the new step.
  useEffect(() => { heading.current?.focus() }, [state.step])
  useEffect(() => {
    if (step === 'workspace' && existing === null) api.get<{ workspaces: Workspace[] }>('/api/workspaces').then((r) => setExisting(r.workspaces ?? []), () => setExisting([]))
    if (step === 'ai' && providers === null) void fetchProviders().then(setProviders)
  }, [step])

  const dispatch = (a: Action) => setState((st) => reduce(st, a))
  const next = (extra: Answers = {}) => {
    const answers = { ...draft, ...extra }
    setDraft(answers)
    dispatch({ type: 'next', answers })
  }
  const finish = () => {
    const st = reduce(state, { type: 'finish' })
    saveState(localStorage, user.id, st)
    setState(st)
    navigate(st.answers.workspaceId ? `/w/${st.answers.workspaceId}` : '/', true)
  }
  const dismiss = () => {
    const st = reduce(state, { type: 'dismiss' })
    saveState(localStorage, user.id, st)
    notify('info', 'Setup skipped. You can run it again from Settings.')
    navigate('/', true)
  }

  const createWs = async () => {
    const err = validateWorkspaceName(wsName)
    if (err) {
      setWsError(err)
      return
    }
    setBusy(true)
    try {
      const ws = await createWorkspace(wsName)
      notify('success', `Workspace “${ws.name}” created.`)
      next({ workspaceId: ws.id, workspaceName: ws.name })
    } catch (e) {
      setWsError(message(e))
    } finally {
      setBusy(false)
    }
  }

  let body
  switch (step) {
    case 'theme':
      body = (
        <fieldset class="choices">
          <legend>Theme</legend>
          {(['light', 'dark', 'system'] as ThemeChoice[]).map((t) => (
            <label key={t} class={`choice ${theme === t ? 'selected' : ''}`}>
              <input type="radio" name="theme" value={t} checked={theme === t} onChange={() => { setTheme(t, user.id); setDraft({ ...draft, theme: t }) }} />
              <span class={`swatch swatch-${t}`} aria-hidden="true" />
              <span>{t === 'system' ? 'Match the system' : t[0].toUpperCase() + t.slice(1)}</span>
            </label>
          ))}
        </fieldset>
      )
      break
    case 'workspace':
      body = (
        <div>
          <p>A workspace holds a project's files, its terminals and its search index.</p>
          {state.answers.workspaceId && <p class="notice success">Workspace “{state.answers.workspaceName}” is ready.</p>}
          <form class="inline-form" onSubmit={(e) => { e.preventDefault(); void createWs() }}>
            <label class="field">
              <span>New workspace name</span>
              <input value={wsName} onInput={(e) => { setWsName((e.target as HTMLInputElement).value); setWsError(null) }} aria-invalid={!!wsError} />
            </label>
            <button type="submit" class="primary" disabled={busy}>Create workspace</button>
          </form>
          {wsError && <p class="form-error" role="alert">{wsError}</p>}
          {existing && existing.length > 0 && (
            <div>
              <p>Or continue with one you have:</p>
              <ul class="plain">
                {existing.map((w) => <li key={w.id}><button type="button" class="link" onClick={() => next({ workspaceId: w.id, workspaceName: w.name })}>{w.name}</button></li>)}
              </ul>
            </div>
          )}
          <p class="muted">You can also import a .zip or .tar.gz project from the Workspaces page.</p>
        </div>
      )
      break
    case 'extensions': {
      const langs = draft.languages ?? []
      body = (
        <div>
          <Checks legend="Which languages do you work in?" items={LANGUAGE_CHOICES} value={langs} onChange={(v) => setDraft({ ...draft, languages: v })} />
          {langs.length > 0 && (
            <div class="recommend" aria-live="polite">
              <h3>Recommended for you</h3>
              <ul>{LANGUAGE_CHOICES.filter((l) => langs.includes(l.id)).flatMap((l) => l.extensions.map((x) => <li key={l.id + x}>{x}</li>))}</ul>
              <p class="muted">Syntax highlighting for these languages is built in; language servers arrive with workspace VMs.</p>
            </div>
          )}
        </div>
      )
      break
    }
    case 'ai':
      body = (
        <div>
          <p>VibeCode's AI chat, inline completions and code review go through the server's AI gateway.</p>
          <ProvidersView result={providers} />
        </div>
      )
      break
    case 'integrations':
      body = <Checks legend="Connect later (we remember your choice)" items={INTEGRATIONS} value={draft.integrations ?? []} onChange={(v) => setDraft({ ...draft, integrations: v })} />
      break
    case 'cli':
      body = <Checks legend="Tools you want in your workspace terminals" items={CLI_TOOLS} value={draft.cliTools ?? []} onChange={(v) => setDraft({ ...draft, cliTools: v })} />
      break
    case 'done':
      body = (
        <div>
          <p>You're all set{user.name ? `, ${user.name}` : ''}.</p>
          <ul class="plain">
            <li>Press <kbd>Ctrl</kbd>+<kbd>P</kbd> to open a file, <kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>P</kbd> for every command.</li>
            <li>Press <kbd>Ctrl</kbd>+<kbd>S</kbd> to save; unsaved changes are kept in this browser.</li>
            <li>Ask the AI about your code from the chat panel; answers cite the files they use.</li>
          </ul>
        </div>
      )
      break
  }

  return (
    <main class="onboarding" aria-labelledby="ob-title">
      <div class="ob-card">
        <div class="ob-head">
          <span class="brand"><span class="logo" aria-hidden="true">▲</span> Welcome to VibeCode</span>
          <button type="button" class="ghost" onClick={dismiss}>Skip setup</button>
        </div>
        <ol class="ob-steps" aria-label="Setup steps">
          {STEPS.map((k, i) => (
            <li key={k} class={`${i === state.step ? 'current' : ''} ${state.status[k] ?? ''}`} aria-current={i === state.step ? 'step' : undefined}>
              <button type="button" class="step-dot" onClick={() => dispatch({ type: 'goto', step: i })} aria-label={`Step ${i + 1}: ${STEP_TITLES[k]}${state.status[k] ? ` (${state.status[k]})` : ''}`}>{i + 1}</button>
            </li>
          ))}
        </ol>
        <h1 id="ob-title" ref={heading} tabIndex={-1}>Step {state.step + 1} of {STEPS.length}: {STEP_TITLES[step]}</h1>
        <div class="ob-body">{body}</div>
        <div class="ob-actions">
          <button type="button" onClick={() => dispatch({ type: 'back' })} disabled={state.step === 0}>Back</button>
          <span class="fill" />
          {step !== 'done' && <button type="button" onClick={() => dispatch({ type: 'skip' })}>Skip this step</button>}
          {step === 'done'
            ? <button type="button" class="primary" onClick={finish}>{state.answers.workspaceId ? 'Open my workspace' : 'Go to my workspaces'}</button>
            : <button type="button" class="primary" onClick={() => next(step === 'theme' ? { theme } : {})}>Continue</button>}
        </div>
      </div>
    </main>
  )
}
