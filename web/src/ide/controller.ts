// The IDE's state and actions for one workspace: files and folders, tabs, the editor, panels,
// and the file operations (create, rename, move, delete) with what they do to open tabs.
import type { ApiClient } from '../lib/api'
import { ApiError } from '../lib/api'
import { tabsKey } from '../lib/buffers'
import { deleteFile, listFiles, moveFiles } from '../lib/files'
import { basename, dirname, isWithin, joinPath, planMove, validateName, type FileMeta } from '../lib/paths'
import { take } from '../lib/prefetch'
import { Signal } from '../lib/signal'
import { message, notify } from '../ui/app'
import { confirmDialog, promptDialog } from '../ui/dialogs'
import type { Workspace } from '../ui/Workspaces'
import type { Agent } from './agent'
import { DocManager, type Doc } from './docs'
import type { monaco } from './monaco'

export type SideView = 'explorer' | 'search'
export type PaletteMode = 'commands' | 'files' | 'line'

export interface Command {
  id: string
  label: string
  keys?: string
  run: () => void | Promise<void>
  when?: () => boolean
}

export interface Reveal {
  line: number
  endLine?: number
}

export class IdeController {
  readonly workspace = new Signal<Workspace | null>(null)
  readonly files = new Signal<FileMeta[]>([])
  readonly filesError = new Signal<string | null>(null)
  /** Folders created here that hold no file yet (the API stores files only). */
  readonly extraDirs = new Signal<Set<string>>(new Set())
  readonly expanded = new Signal<Set<string>>(new Set())
  readonly selected = new Signal<string | null>(null)
  readonly tabs = new Signal<string[]>([])
  readonly active = new Signal<string | null>(null)
  readonly side = new Signal<SideView | null>('explorer')
  readonly chatOpen = new Signal<boolean>(false)
  readonly terminalOpen = new Signal<boolean>(false)
  readonly palette = new Signal<PaletteMode | null>(null)
  readonly conflict = new Signal<string | null>(null)
  readonly cursor = new Signal<{ line: number; column: number; selected: number }>({ line: 1, column: 1, selected: 0 })
  readonly busy = new Signal<string | null>(null)
  readonly docs: DocManager
  editor: monaco.editor.IStandaloneCodeEditor | null = null
  /** The chat panel registers how to ask it something (selection workflows). */
  ask?: (kind: 'explain' | 'review' | 'document' | 'generate', code: string, path: string, language: string) => void
  /** Set by the search panel to focus its query box. */
  focusSearch?: () => void
  commands: Command[] = []

  /** The workspace agent (terminals, live collaboration), when the server runs one. */
  agent: Agent | null = null
  userName = ''

  constructor(readonly api: ApiClient, readonly ws: string, readonly userId: string) {
    this.docs = new DocManager(api, ws, userId)
    this.docs.onSaved = (path, file) => {
      const list = this.files.value.filter((f) => f.path !== path)
      list.push(file)
      list.sort((a, b) => (a.path < b.path ? -1 : 1))
      this.files.value = list
    }
  }

  async load() {
    const files = this.refreshFiles(take(`files:${this.ws}`, () => listFiles(this.api, this.ws)))
    try {
      this.workspace.value = await take(`ws:${this.ws}`, () => this.api.get<Workspace>(`/api/workspaces/${this.ws}`))
    } catch (err) {
      this.filesError.value = err instanceof ApiError && err.status === 404 ? 'This workspace does not exist or is not yours.' : message(err)
      return
    }
    await files
    this.restoreTabs()
  }

  async refreshFiles(listing?: Promise<FileMeta[]>) {
    try {
      this.files.value = await (listing ?? listFiles(this.api, this.ws))
      this.filesError.value = null
      // A folder created here stops being "extra" once a file is in it.
      const dirs = new Set([...this.extraDirs.value].filter((d) => !this.files.value.some((f) => isWithin(f.path, d))))
      if (dirs.size !== this.extraDirs.value.size) this.extraDirs.value = dirs
    } catch (err) {
      this.filesError.value = message(err)
    }
  }

  paths(): string[] {
    return this.files.value.map((f) => f.path)
  }

  meta(path: string): FileMeta | undefined {
    return this.files.value.find((f) => f.path === path)
  }

  private saveTabs() {
    try {
      localStorage.setItem(tabsKey(this.userId, this.ws), JSON.stringify({ tabs: this.tabs.value, active: this.active.value }))
    } catch { /* not remembered */ }
  }

  private restoreTabs() {
    try {
      const raw = localStorage.getItem(tabsKey(this.userId, this.ws))
      if (!raw) return
      const { tabs, active } = JSON.parse(raw) as { tabs: string[]; active: string | null }
      for (const t of tabs ?? []) void this.openFile(t, { focus: false, background: t !== active })
    } catch { /* nothing to restore */ }
  }

  expandTo(path: string) {
    const ex = new Set(this.expanded.value)
    for (let d = dirname(path); d; d = dirname(d)) ex.add(d)
    this.expanded.value = ex
  }

  /** Opens a file in a tab (or switches to it) and optionally reveals lines. */
  async openFile(path: string, opts: { reveal?: Reveal; focus?: boolean; background?: boolean } = {}) {
    const focusedAtStart = document.activeElement
    if (!this.tabs.value.includes(path)) this.tabs.value = [...this.tabs.value, path]
    if (!opts.background) this.active.value = path
    this.selected.value = path
    this.expandTo(path)
    this.saveTabs()
    const doc = await this.docs.open(path, this.meta(path))
    if (doc.restored && !opts.background) {
      notify(doc.restored === 'stale' ? 'warning' : 'info', doc.restored === 'stale'
        ? `Restored your unsaved changes to ${path}. The file changed on the server since; saving will let you compare.`
        : `Restored your unsaved changes to ${path} from this browser.`)
    }
    if (opts.reveal && this.active.value === path) this.reveal(opts.reveal)
    // Focus the editor unless the user has moved on meanwhile (a palette, a dialog, another field).
    // A palette opened meanwhile counts even before its input has focus (that waits a frame).
    const moved = this.palette.value !== null || (document.activeElement !== focusedAtStart && document.activeElement !== document.body)
    if (opts.focus !== false && !opts.background && !moved && this.active.value === path) queueMicrotask(() => this.editor?.focus())
  }

  reveal(r: Reveal) {
    const ed = this.editor
    if (!ed) return
    const apply = () => {
      const model = ed.getModel()
      if (!model) return
      const start = Math.max(1, Math.min(r.line, model.getLineCount()))
      const end = Math.max(start, Math.min(r.endLine ?? start, model.getLineCount()))
      ed.setSelection({ startLineNumber: start, startColumn: 1, endLineNumber: end, endColumn: model.getLineMaxColumn(end) })
      ed.revealRangeInCenterIfOutsideViewport({ startLineNumber: start, startColumn: 1, endLineNumber: end, endColumn: 1 })
      ed.focus()
    }
    // The model may be attached on the next render.
    setTimeout(apply, 0)
  }

  async closeTab(path: string) {
    const doc = this.docs.get(path)
    if (doc?.dirty) {
      const ok = await confirmDialog({ title: 'Unsaved changes', message: `${basename(path)} has unsaved changes. Close it anyway? A copy stays in this browser and comes back when you open the file again.`, confirmLabel: 'Close' })
      if (!ok) return
    }
    const i = this.tabs.value.indexOf(path)
    const tabs = this.tabs.value.filter((t) => t !== path)
    this.tabs.value = tabs
    if (this.active.value === path) this.active.value = tabs[Math.min(i, tabs.length - 1)] ?? null
    // Keep a dirty buffer in storage; only a clean doc's model is released.
    this.docs.close(path)
    this.saveTabs()
  }

  activate(path: string) {
    this.active.value = path
    this.saveTabs()
  }

  cycleTab(delta: number) {
    const t = this.tabs.value
    if (!t.length) return
    const i = t.indexOf(this.active.value ?? '')
    this.activate(t[(i + delta + t.length) % t.length])
  }

  async save(path = this.active.value) {
    if (!path) return
    try {
      const r = await this.docs.save(path)
      if (r === 'conflict') this.conflict.value = path
      else if (r === 'offline') notify('warning', `Could not save ${basename(path)}: the server cannot be reached. Your changes are kept in this browser and saved when the connection is back.`)
      else if (r === 'saved') {
        const doc = this.docs.get(path)
        if (doc?.dirty === false) this.files.touch()
      }
    } catch (err) {
      notify('error', `Could not save ${basename(path)}: ${message(err)}`)
    }
  }

  async saveAll() {
    for (const d of this.docs.dirtyDocs()) await this.save(d.path)
  }

  /** The folder new files go into: the selected folder, or the selected file's. */
  targetDir(): string {
    const sel = this.selected.value
    if (!sel) return ''
    const isFile = this.files.value.some((f) => f.path === sel) || this.docs.get(sel)
    return isFile ? dirname(sel) : sel
  }

  async newFile(dir = this.targetDir()) {
    const value = dir ? `${dir}/` : ''
    const name = await promptDialog({ title: 'New file', label: 'File path (folders are created as needed)', value, confirmLabel: 'Create', select: [value.length, value.length], validate: (v) => validateName(v, true) ?? (this.files.value.some((f) => f.path === v) ? `${v} already exists.` : null) })
    if (!name) return
    this.docs.createNew(name)
    if (!this.tabs.value.includes(name)) this.tabs.value = [...this.tabs.value, name]
    this.active.value = name
    this.selected.value = name
    this.expandTo(name)
    // Created on the server at once (empty), so it shows in the tree and survives a reload.
    await this.save(name)
    await this.refreshFiles()
    this.saveTabs()
    queueMicrotask(() => this.editor?.focus())
  }

  async newFolder(dir = this.targetDir()) {
    const value = dir ? `${dir}/` : ''
    const name = await promptDialog({ title: 'New folder', label: 'Folder path', value, confirmLabel: 'Create', select: [value.length, value.length], validate: (v) => validateName(v.replace(/\/$/, ''), true) })
    if (!name) return
    const p = name.replace(/\/$/, '')
    this.extraDirs.value = new Set([...this.extraDirs.value, p])
    this.expandTo(joinPath(p, 'x'))
    this.selected.value = p
  }

  isDir(path: string): boolean {
    return this.extraDirs.value.has(path) || this.files.value.some((f) => f.path.startsWith(path + '/'))
  }

  async rename(path: string) {
    const base = basename(path)
    const dot = base.lastIndexOf('.')
    const name = await promptDialog({ title: `Rename ${base}`, label: 'New name', value: base, confirmLabel: 'Rename', select: [0, dot > 0 && !this.isDir(path) ? dot : base.length], validate: (v) => validateName(v) })
    if (!name || name === base) return
    await this.move(path, joinPath(dirname(path), name))
  }

  /** Moves (or renames) a file or folder: PUT at the new path, then DELETE the old one, per file. */
  async move(from: string, to: string) {
    // Unsaved edits are saved first, so the moved file carries them.
    for (const d of this.docs.dirtyDocs()) if (isWithin(d.path, from)) await this.save(d.path)
    if (this.docs.dirtyDocs().some((d) => isWithin(d.path, from))) {
      notify('error', 'Save or discard the unsaved changes under this path before moving it.')
      return
    }
    const plan = planMove(this.paths(), from, to)
    if (plan.error) {
      notify('error', plan.error)
      return
    }
    if (!plan.moves.length) {
      // An empty folder created here: just rename it locally.
      if (this.extraDirs.value.has(from)) {
        this.extraDirs.value = new Set([...this.extraDirs.value].map((d) => (isWithin(d, from) ? to + d.slice(from.length) : d)))
      }
      return
    }
    this.busy.value = `Moving ${plan.moves.length} file${plan.moves.length > 1 ? 's' : ''}…`
    try {
      const r = await moveFiles(this.api, this.ws, plan.moves, (n, total) => { this.busy.value = `Moving ${n}/${total}…` })
      this.docs.applyMoves(r.done)
      const moved = new Map(r.done.map((m) => [m.from, m.to]))
      this.tabs.value = this.tabs.value.map((t) => moved.get(t) ?? t)
      if (this.active.value && moved.has(this.active.value)) this.active.value = moved.get(this.active.value)!
      if (this.selected.value && moved.has(this.selected.value)) this.selected.value = moved.get(this.selected.value)!
      else if (this.selected.value === from) this.selected.value = to
      this.extraDirs.value = new Set([...this.extraDirs.value].map((d) => (isWithin(d, from) ? to + d.slice(from.length) : d)))
      if (r.error) notify('error', `Moved ${r.done.length} of ${plan.moves.length} files, then: ${r.error.message}`)
      else {
        notify('success', `Moved ${from} to ${to}.`)
        this.expandTo(joinPath(to, 'x'))
        this.selected.value = to
      }
    } finally {
      this.busy.value = null
      await this.refreshFiles()
      this.saveTabs()
    }
  }

  async remove(path: string) {
    const dir = this.isDir(path) && !this.files.value.some((f) => f.path === path)
    const files = dir ? this.files.value.filter((f) => f.path.startsWith(path + '/')) : this.files.value.filter((f) => f.path === path)
    const ok = await confirmDialog({ title: dir ? 'Delete folder' : 'Delete file', message: dir ? `Delete ${path} and the ${files.length} file${files.length === 1 ? '' : 's'} in it? This cannot be undone.` : `Delete ${path}? This cannot be undone.`, confirmLabel: 'Delete', danger: true })
    if (!ok) return
    this.busy.value = 'Deleting…'
    try {
      for (const f of files) {
        await deleteFile(this.api, this.ws, f.path, `"${f.hash}"`)
        this.docs.deleted(f.path)
        if (!this.docs.get(f.path)) {
          this.tabs.value = this.tabs.value.filter((t) => t !== f.path)
          if (this.active.value === f.path) this.active.value = this.tabs.value[0] ?? null
        }
      }
      if (dir) this.extraDirs.value = new Set([...this.extraDirs.value].filter((d) => !isWithin(d, path)))
      notify('success', `Deleted ${path}.`)
    } catch (err) {
      notify('error', err instanceof ApiError && err.status === 412 ? `${path} changed since it was listed; refresh and try again.` : `Could not delete: ${message(err)}`)
    } finally {
      this.busy.value = null
      await this.refreshFiles()
      this.saveTabs()
    }
  }

  /** Puts every open text document under live collaboration once the agent is up. */
  syncCollab() {
    const a = this.agent
    if (!a || a.state.value.kind !== 'ready' || !this.editor) return
    for (const d of this.docs.docs.values()) {
      if (d.kind !== 'text' || !d.model || d.collab || d.collabOff) continue
      // Unsaved edits restored from this browser stay on the files API: binding would replace
      // them with the shared document.
      if (d.restored) d.collabOff = 'Unsaved changes were restored from this browser; this file is edited without live collaboration until it is reopened.'
      else this.attachCollab(d, a)
    }
  }

  private collabLoading = new Set<string>()

  /** yjs, y-websocket and y-monaco are loaded with the first shared document, off the first load. */
  private attachCollab(d: Doc, a: Agent) {
    if (this.collabLoading.has(d.path)) return
    this.collabLoading.add(d.path)
    void import('./collab').then(({ CollabSession }) => {
      this.collabLoading.delete(d.path)
      if (this.docs.get(d.path) !== d || d.collab || d.collabOff || !d.model || d.model.isDisposed()) return
      this.startCollab(d, a, CollabSession)
    }, () => this.collabLoading.delete(d.path))
  }

  private startCollab(d: Doc, a: Agent, CollabSession: typeof import('./collab').CollabSession) {
    const s = new CollabSession(a, d.path, d.model!, this.editor!, { id: this.userId, name: this.userName }, () => {
      this.docs.updateDirty(d)
      this.docs.changed.value++
    }, (reason) => {
      if (d.collab === s) d.collab = undefined
      d.collabOff = reason
      this.docs.updateDirty(d)
      this.docs.changed.value++
    })
    d.collab = s
    s.status.subscribe((st) => {
      this.docs.updateDirty(d)
      if (st === 'unsynced') this.docs.backup(d)
      this.docs.changed.value++
    })
    s.peers.subscribe(() => { this.docs.changed.value++ })
    s.start().catch(() => {
      if (d.collab === s) d.collab = undefined
      s.dispose()
      this.docs.changed.value++
    })
  }

  selectionText(): { code: string; path: string; language: string } | null {
    const ed = this.editor
    const model = ed?.getModel()
    const path = this.active.value
    if (!ed || !model || !path) return null
    const sel = ed.getSelection()
    const code = sel && !sel.isEmpty() ? model.getValueInRange(sel) : model.getValue()
    return { code, path, language: model.getLanguageId() }
  }

  insertAtCursor(text: string) {
    const ed = this.editor
    if (!ed?.getModel()) {
      notify('info', 'Open a file to insert the code into.')
      return
    }
    const sel = ed.getSelection()!
    ed.executeEdits('ai-insert', [{ range: sel, text, forceMoveMarkers: true }])
    ed.pushUndoStop()
    ed.focus()
  }
}
