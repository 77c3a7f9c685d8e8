import { lazy, Suspense } from 'preact/compat'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { useValue } from '../lib/signal'
import { setTheme, themeChoice } from '../lib/theme'
import { api, navigate, online, session } from '../ui/app'
import { Modal } from '../ui/dialogs'
import { SettingsBody } from '../ui/Settings'
import { Icon, type IconName } from '../ui/icons'
import { ControlPlaneAgent } from './agent'
import { ChatPanel } from './ChatPanel'
import { completionState } from './completion'
import { ConflictDialog } from './ConflictDialog'
import { IdeController, type Command } from './controller'
import { EditorArea } from './EditorArea'
import { FileTree } from './FileTree'
import { Palette } from './Palette'
import { IndexBadge, SearchPanel, useIndexStatus } from './SearchPanel'

// Marks for the first-load measurement (docs/benchmarks.md): this module has evaluated, so
// Monaco has too.
performance.mark('vc:ide-code')

// xterm.js is loaded when the terminal panel is first opened.
const TerminalPanel = lazy(() => import('./TerminalPanel').then((m) => ({ default: m.TerminalPanel })))

const isMac = /Mac|iPhone|iPad/.test(navigator.platform)
const mod = isMac ? '⌘' : 'Ctrl'

function StatusBar({ ide, agent }: { ide: IdeController; agent: ControlPlaneAgent }) {
  const active = useValue(ide.active)
  useValue(ide.docs.changed)
  const cur = useValue(ide.cursor)
  const on = useValue(online)
  const ai = useValue(completionState)
  const st = useIndexStatus(ide)
  const doc = active ? ide.docs.get(active) : undefined
  let save = ''
  if (doc?.kind === 'text') {
    save = doc.conflict ? 'Save conflict' : doc.saving ? 'Saving…' : doc.retry ? 'Not saved (offline)' : doc.dirty ? 'Unsaved changes' : 'Saved'
  }
  return (
    <footer class="statusbar" role="contentinfo">
      <span class={`sb-item ${on ? '' : 'warn'}`} title={on ? 'Connected to the VibeCode server' : 'The server cannot be reached'}>{on ? '● Online' : '○ Offline'}</span>
      {save && (
        <button type="button" class={`sb-item sb-save ${doc?.dirty || doc?.conflict ? 'warn' : ''}`} data-testid="save-state"
          onClick={() => (doc?.conflict ? (ide.conflict.value = active) : void ide.save())} title={doc?.dirty ? `Save (${mod}+S)` : ''}>{save}</button>
      )}
      <AgentStatus ide={ide} agent={agent} />
      <span class="sb-fill" />
      <IndexBadge st={st} />
      {typeof ai === 'string' && <span class="sb-item muted" title={ai}>AI completions off</span>}
      {doc?.kind === 'text' && <span class="sb-item">Ln {cur.line}, Col {cur.column}{cur.selected ? ` (${cur.selected} selected)` : ''}</span>}
      {doc?.kind === 'text' && <span class="sb-item">{doc.model?.getLanguageId()}</span>}
    </footer>
  )
}

function AgentStatus({ ide, agent }: { ide: IdeController; agent: ControlPlaneAgent }) {
  const st = useValue(agent.state)
  const phases = useValue(agent.phases)
  const active = useValue(ide.active)
  useValue(ide.docs.changed)
  const doc = active ? ide.docs.get(active) : undefined
  if (st.kind === 'starting') return <span class="sb-item" role="status">{st.phase}</span>
  if (st.kind === 'error') return <span class="sb-item warn" title={st.reason}>Workspace agent unreachable</span>
  const started = phases.length ? `Workspace started: ${phases.map((p) => `${p.name} ${p.ms} ms`).join(', ')}` : 'Workspace running'
  if (st.kind === 'ready' && doc?.kind !== 'text') return <span class="sb-item" title={started}>Workspace running</span>
  if (st.kind !== 'ready' || doc?.kind !== 'text') return null
  if (doc.collabOff) return <span class="sb-item muted" data-testid="collab-state" title={doc.collabOff}>Live: off</span>
  const c = doc.collab
  if (!c) return null
  const label = { connecting: 'Connecting…', synced: 'Live: synced', offline: 'Live: offline', unsynced: 'Live: unsynced changes' }[c.status.value]
  const peers = c.peers.value
  return (
    <>
      <span class={`sb-item collab-state ${c.status.value === 'synced' ? '' : 'warn'}`} data-testid="collab-state"
        title={c.status.value === 'unsynced' ? 'Edits made while offline are kept and merge when the connection is back' : started}>{label}</span>
      <span class="sb-item presence" aria-label={`Here: ${peers.map((p) => p.name + (p.self ? ' (you)' : '')).join(', ')}`} data-testid="presence">
        {peers.map((p) => <span key={p.clientId} class="avatar" style={{ background: p.color }} title={p.name + (p.self ? ' (you)' : '')} aria-hidden="true">{p.name.slice(0, 1).toUpperCase()}</span>)}
      </span>
    </>
  )
}

export default function Ide({ workspaceId }: { workspaceId: string }) {
  const s = useValue(session)!
  const ide = useMemo(() => new IdeController(api, workspaceId, s.user.id), [workspaceId])
  const agent = useMemo(() => new ControlPlaneAgent(api, workspaceId), [workspaceId])
  const ws = useValue(ide.workspace)
  const side = useValue(ide.side)
  const chat = useValue(ide.chatOpen)
  const term = useValue(ide.terminalOpen)
  const error = useValue(ide.filesError)
  const [settings, setSettings] = useState(false)
  const [termLoaded, setTermLoaded] = useState(false)

  useEffect(() => {
    ide.agent = agent
    ide.userName = s.user.name
    // Start (or resume) the workspace's agent for terminals and live collaboration; without
    // one (this server runs none) the IDE works on the files API alone.
    // ?open=path[&line=n] opens a file (links from elsewhere, e.g. a search result shared).
    const q = new URLSearchParams(location.search)
    void ide.load().then(() => {
      const open = q.get('open')
      if (open) void ide.openFile(open, { reveal: q.get('line') ? { line: Number(q.get('line')) } : undefined })
      return agent.ensure()
    }).catch(() => {})
    const unA = agent.state.subscribe(() => ide.syncCollab())
    const unD = ide.docs.changed.subscribe(() => ide.syncCollab())
    performance.mark('vc:ide-mounted')
    const beforeUnload = (e: BeforeUnloadEvent) => {
      ide.docs.backupAll()
      if (ide.docs.dirtyDocs().length) {
        e.preventDefault()
        e.returnValue = ''
      }
    }
    addEventListener('beforeunload', beforeUnload)
    const unOnline = online.subscribe((v) => { if (v) void ide.docs.retryPending() })
    // Files change outside this tab (imports, other sessions, the agent's reports).
    const poll = setInterval(() => { if (document.visibilityState === 'visible') void ide.refreshFiles() }, 15_000)
    const onFocus = () => void ide.refreshFiles()
    addEventListener('focus', onFocus)
    return () => {
      removeEventListener('beforeunload', beforeUnload)
      removeEventListener('focus', onFocus)
      clearInterval(poll)
      unOnline()
      unA()
      unD()
      ide.docs.disposeAll()
    }
  }, [ide])

  useEffect(() => { if (ws) document.title = `${ws.name} — VibeCode` }, [ws])
  useEffect(() => { if (term) setTermLoaded(true) }, [term])

  const commands: Command[] = [
    { id: 'file.save', label: 'File: Save', keys: `${mod}+S`, run: () => ide.save() },
    { id: 'file.saveAll', label: 'File: Save All', keys: `${mod}+Alt+S`, run: () => ide.saveAll() },
    { id: 'file.new', label: 'File: New File…', keys: 'Alt+N', run: () => ide.newFile() },
    { id: 'file.newFolder', label: 'File: New Folder…', run: () => ide.newFolder() },
    { id: 'file.close', label: 'View: Close Editor', keys: 'Alt+W', run: () => { if (ide.active.value) void ide.closeTab(ide.active.value) } },
    { id: 'file.rename', label: 'File: Rename…', keys: 'F2', run: () => { const p = ide.selected.value ?? ide.active.value; if (p) void ide.rename(p) } },
    { id: 'file.delete', label: 'File: Delete', run: () => { const p = ide.selected.value ?? ide.active.value; if (p) void ide.remove(p) } },
    { id: 'file.refresh', label: 'Explorer: Refresh', run: () => ide.refreshFiles() },
    { id: 'go.file', label: 'Go to File…', keys: `${mod}+P`, run: () => { ide.palette.value = 'files' } },
    { id: 'go.command', label: 'Show All Commands', keys: `${mod}+Shift+P`, run: () => { ide.palette.value = 'commands' } },
    { id: 'go.line', label: 'Go to Line…', keys: 'Ctrl+G', run: () => { ide.palette.value = 'line' } },
    { id: 'view.explorer', label: 'View: Show Explorer', keys: `${mod}+Shift+E`, run: () => { ide.side.value = 'explorer' } },
    { id: 'view.search', label: 'View: Show Search', keys: `${mod}+Shift+F`, run: () => { ide.side.value = 'search'; ide.focusSearch?.() } },
    { id: 'view.sidebar', label: 'View: Toggle Side Bar', keys: `${mod}+B`, run: () => { ide.side.value = ide.side.value ? null : 'explorer' } },
    { id: 'view.terminal', label: 'View: Toggle Terminal', keys: 'Ctrl+`', run: () => { ide.terminalOpen.value = !ide.terminalOpen.value } },
    { id: 'view.chat', label: 'View: Toggle AI Chat', keys: `${mod}+Alt+I`, run: () => { ide.chatOpen.value = !ide.chatOpen.value } },
    { id: 'view.nextTab', label: 'View: Next Editor', keys: 'Alt+PageDown', run: () => ide.cycleTab(1) },
    { id: 'view.prevTab', label: 'View: Previous Editor', keys: 'Alt+PageUp', run: () => ide.cycleTab(-1) },
    { id: 'ai.explain', label: 'AI: Explain the Selection', run: () => { const x = ide.selectionText(); if (x) ide.ask?.('explain', x.code, x.path, x.language) } },
    { id: 'ai.review', label: 'AI: Review the Selection', run: () => { const x = ide.selectionText(); if (x) ide.ask?.('review', x.code, x.path, x.language) } },
    { id: 'ai.document', label: 'AI: Document the Selection', run: () => { const x = ide.selectionText(); if (x) ide.ask?.('document', x.code, x.path, x.language) } },
    { id: 'editor.format', label: 'Format Document', keys: 'Shift+Alt+F', run: () => ide.editor?.getAction('editor.action.formatDocument')?.run() },
    { id: 'editor.find', label: 'Find', keys: `${mod}+F`, run: () => ide.editor?.getAction('actions.find')?.run() },
    { id: 'editor.replace', label: 'Replace', keys: `${mod}+H`, run: () => ide.editor?.getAction('editor.action.startFindReplaceAction')?.run() },
    { id: 'editor.commands', label: 'Editor: Show Editor Commands', keys: 'F1', run: () => { ide.editor?.focus(); ide.editor?.trigger('palette', 'editor.action.quickCommand', null) } },
    { id: 'theme.light', label: 'Preferences: Light Theme', run: () => setTheme('light', s.user.id) },
    { id: 'theme.dark', label: 'Preferences: Dark Theme', run: () => setTheme('dark', s.user.id) },
    { id: 'theme.system', label: 'Preferences: System Theme', run: () => setTheme('system', s.user.id) },
    { id: 'theme.toggle', label: 'Preferences: Toggle Light/Dark Theme', run: () => setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark', s.user.id) },
    { id: 'settings', label: 'Preferences: Open Settings', keys: `${mod}+,`, run: () => setSettings(true) },
    { id: 'workspaces', label: 'Workspaces: Show All', run: () => navigate('/') },
  ]
  ide.commands = commands

  // Keyboard shortcuts, caught before Monaco (capture phase) so they work in the editor too.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const c = e.ctrlKey || e.metaKey
      const k = e.key.toLowerCase()
      const run = (id: string) => {
        e.preventDefault()
        e.stopPropagation()
        void commands.find((x) => x.id === id)?.run()
      }
      if (document.querySelector('.modal-backdrop') && !(c && k === 's')) return
      if (c && e.shiftKey && k === 'p') return run('go.command')
      if (c && !e.shiftKey && !e.altKey && k === 'p') return run('go.file')
      if (c && e.altKey && k === 's') return run('file.saveAll')
      if (c && !e.shiftKey && k === 's') return run('file.save')
      if (c && e.shiftKey && k === 'f') return run('view.search')
      if (c && e.shiftKey && k === 'e') return run('view.explorer')
      if (c && !e.shiftKey && !e.altKey && k === 'b') return run('view.sidebar')
      if (e.ctrlKey && (e.key === '`' || e.code === 'Backquote')) return run('view.terminal')
      if (c && e.altKey && (k === 'i' || e.code === 'KeyI')) return run('view.chat')
      if (c && e.key === ',') return run('settings')
      if (e.altKey && !c && (k === 'w' || e.code === 'KeyW')) return run('file.close')
      if (e.altKey && !c && (k === 'n' || e.code === 'KeyN')) return run('file.new')
      if (e.altKey && e.key === 'PageDown') return run('view.nextTab')
      if (e.altKey && e.key === 'PageUp') return run('view.prevTab')
      if (e.ctrlKey && !e.shiftKey && k === 'g') return run('go.line')
    }
    addEventListener('keydown', onKey, true)
    return () => removeEventListener('keydown', onKey, true)
  }, [ide])

  const activity = (view: 'explorer' | 'search', label: string, glyph: IconName) => (
    <button type="button" class={`activity-btn ${side === view ? 'active' : ''}`} aria-pressed={side === view} title={label} aria-label={label}
      onClick={() => { ide.side.value = side === view ? null : view }}><Icon name={glyph} size={22} /></button>
  )

  return (
    <div class={`ide ${chat ? 'with-chat' : ''} ${side ? 'with-side' : ''}`}>
      <header class="ide-top">
        <a class="brand" href="/" onClick={(e) => { e.preventDefault(); navigate('/') }} title="All workspaces"><span class="logo" aria-hidden="true">▲</span></a>
        <span class="ws-title">{ws?.name ?? '…'}</span>
        <button type="button" class="command-center" onClick={() => { ide.palette.value = 'files' }} aria-label="Go to file or run a command">
          Search files <kbd>{mod}+P</kbd> · commands <kbd>{mod}+Shift+P</kbd>
        </button>
        <span class="fill" />
        <button type="button" class={`ghost ${chat ? 'active' : ''}`} aria-pressed={chat} onClick={() => { ide.chatOpen.value = !chat }}>AI chat</button>
        <button type="button" class={`ghost ${term ? 'active' : ''}`} aria-pressed={term} onClick={() => { ide.terminalOpen.value = !term }}>Terminal</button>
        <button type="button" class="ghost" onClick={() => setSettings(true)}>Settings</button>
        <span class="user-name" title={s.user.email}>{s.user.name}</span>
      </header>
      <nav class="activity" aria-label="Views">
        {activity('explorer', `Explorer (${mod}+Shift+E)`, 'files')}
        {activity('search', `Search (${mod}+Shift+F)`, 'search')}
        <button type="button" class={`activity-btn ${chat ? 'active' : ''}`} aria-pressed={chat} title={`AI chat (${mod}+Alt+I)`} aria-label="AI chat" onClick={() => { ide.chatOpen.value = !chat }}><Icon name="spark" size={22} /></button>
        <span class="fill" />
        <button type="button" class="activity-btn" title={`Theme: ${themeChoice.value}`} aria-label="Toggle light or dark theme" onClick={() => setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark', s.user.id)}><Icon name="theme" size={20} /></button>
        <button type="button" class="activity-btn" title={`Settings (${mod}+,)`} aria-label="Settings" onClick={() => setSettings(true)}><Icon name="gear" size={20} /></button>
      </nav>
      {side && (
        <aside class="sidebar" aria-label={side === 'explorer' ? 'Explorer' : 'Search'}>
          {side === 'explorer' ? <FileTree ide={ide} /> : <SearchPanel ide={ide} />}
        </aside>
      )}
      <main class="center" aria-label="Editor">
        {error && !ws && (
          <div class="editor-message" role="alert">
            <p>{error}</p>
            <button type="button" onClick={() => navigate('/')}>Back to your workspaces</button>
          </div>
        )}
        <EditorArea ide={ide} />
        {termLoaded && (
          <div class="bottom" style={{ display: term ? 'flex' : 'none' }}>
            <Suspense fallback={<div class="term-message">Loading the terminal…</div>}>
              <TerminalPanel ide={ide} agent={agent} />
            </Suspense>
          </div>
        )}
      </main>
      <ChatPanel ide={ide} hidden={!chat} />
      <StatusBar ide={ide} agent={agent} />
      <Palette ide={ide} />
      <ConflictDialog ide={ide} />
      {settings && (
        <Modal title="Settings" onClose={() => setSettings(false)} wide>
          <SettingsBody />
          <div class="modal-actions"><button type="button" onClick={() => setSettings(false)}>Close</button></div>
        </Modal>
      )}
    </div>
  )
}

