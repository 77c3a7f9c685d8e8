import '@xterm/xterm/css/xterm.css'
import { Icon } from '../ui/icons'
import { useEffect, useRef, useState } from 'preact/hooks'
import { useValue } from '../lib/signal'
import { effectiveTheme } from '../lib/theme'
import type { Agent } from './agent'
import type { IdeController } from './controller'
import { TerminalTab } from './terminal'

interface Saved {
  sessions: { id: string; title: string }[]
  active: number
}

function TermView({ tab, visible }: { tab: TerminalTab; visible: boolean }) {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = host.current!
    if (!tab.term.element) tab.term.open(el)
    else el.appendChild(tab.term.element)
    const ro = new ResizeObserver(() => {
      if (el.offsetWidth > 0 && el.offsetHeight > 0) {
        try { tab.fit.fit() } catch { /* not measurable yet */ }
      }
    })
    ro.observe(el)
    return () => ro.disconnect()
  }, [tab])
  useEffect(() => {
    if (visible) requestAnimationFrame(() => { try { tab.fit.fit() } catch { /* hidden */ } tab.term.focus() })
  }, [visible])
  const status = useValue(tab.status)
  return <div ref={host} class="term-host" style={{ display: visible ? 'block' : 'none' }} data-testid="terminal" data-status={status} />
}

export function TerminalPanel({ ide, agent }: { ide: IdeController; agent: Agent }) {
  const state = useValue(agent.state)
  const theme = useValue(effectiveTheme)
  const [tabs, setTabs] = useState<TerminalTab[]>([])
  const [active, setActive] = useState(0)
  const key = `vibecode.terms.${ide.userId}.${ide.ws}`
  const [, rerender] = useState(0)

  const persist = (list: TerminalTab[], act: number) => {
    try { localStorage.setItem(key, JSON.stringify({ sessions: list.map((t) => ({ id: t.session, title: t.title })), active: act } satisfies Saved)) } catch { /* not remembered */ }
  }

  const add = (id = 'new', title?: string) => {
    const n = tabs.length + 1
    const t = new TerminalTab(agent, id, title ?? `Terminal ${n}`, effectiveTheme.value)
    t.status.subscribe(() => { rerender((x) => x + 1); persist(tabsRef.current, activeRef.current) })
    void t.connect()
    return t
  }
  const tabsRef = useRef(tabs)
  tabsRef.current = tabs
  const activeRef = useRef(active)
  activeRef.current = active

  useEffect(() => {
    let saved: Saved | null = null
    try { saved = JSON.parse(localStorage.getItem(key) ?? 'null') } catch { /* none */ }
    agent.ensure().then(() => {
      const list = saved?.sessions.length ? saved.sessions.map((s) => add(s.id, s.title)) : [add()]
      setTabs(list)
      setActive(Math.min(saved?.active ?? 0, list.length - 1))
    }, () => {})
    return () => tabsRef.current.forEach((t) => t.dispose())
  }, [])
  useEffect(() => { tabs.forEach((t) => t.setTheme(theme)) }, [theme, tabs])
  useEffect(() => persist(tabs, active), [tabs, active])

  const close = (i: number) => {
    const t = tabs[i]
    t.send('exit\r')
    t.dispose()
    const list = tabs.filter((_, j) => j !== i)
    setTabs(list)
    setActive(Math.max(0, Math.min(active, list.length - 1)))
  }

  let body
  if (state.kind === 'unavailable' || state.kind === 'error') {
    body = (
      <div class="term-message" role="status">
        <p>{state.reason}</p>
        {state.kind === 'error' && <button type="button" onClick={() => agent.ensure().then(() => setTabs([add()]), () => {})}>Try again</button>}
      </div>
    )
  } else if (state.kind === 'starting' || state.kind === 'idle') {
    body = <div class="term-message" role="status">{state.kind === 'starting' ? state.phase : 'Connecting…'}</div>
  } else {
    body = tabs.map((t, i) => <TermView key={t.title + i} tab={t} visible={i === active} />)
  }

  const cur = tabs[active]
  return (
    <section class="terminal-panel" aria-label="Terminal">
      <div class="panel-head">
        <div role="tablist" aria-label="Terminals" class="term-tabs">
          {tabs.map((t, i) => (
            <div key={i} class={`term-tab ${i === active ? 'active' : ''}`}>
              <button type="button" role="tab" aria-selected={i === active} onClick={() => setActive(i)}>
                {t.title}
                {t.status.value !== 'connected' && <small class="muted"> ({t.status.value})</small>}
              </button>
              <button type="button" class="icon small" aria-label={`Close ${t.title}`} onClick={() => close(i)}>×</button>
            </div>
          ))}
        </div>
        <span class="fill" />
        {cur?.detail.value && <span class="muted small" role="status">{cur.detail.value}</span>}
        <button type="button" class="icon" title="New terminal" aria-label="New terminal" disabled={state.kind !== 'ready'} onClick={() => { const t = add(); setTabs([...tabs, t]); setActive(tabs.length) }}><Icon name="plus" size={16} /></button>
        <button type="button" class="icon" title="Hide the panel (Ctrl+`)" aria-label="Hide the terminal panel" onClick={() => { ide.terminalOpen.value = false }}>×</button>
      </div>
      <div class="panel-body">{body}</div>
    </section>
  )
}
