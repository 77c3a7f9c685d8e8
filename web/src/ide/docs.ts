// Open documents of one workspace: their Monaco models, the server version each is based on,
// dirty and saving state, save conflicts, and the local copy of unsaved edits.
import type { ApiClient } from '../lib/api'
import { ApiError } from '../lib/api'
import { dropBuffer, loadBuffer, restoreDecision, storeBuffer } from '../lib/buffers'
import { readFile, resolveConflict, saveFile, type Resolution } from '../lib/files'
import type { FileMeta, Move } from '../lib/paths'
import { take } from '../lib/prefetch'
import { Signal } from '../lib/signal'
import type { CollabSession } from './collab'
import { languageFor, modelUri, monaco } from './monaco'

export type DocKind = 'loading' | 'text' | 'binary' | 'too-large' | 'missing' | 'error'

export interface Doc {
  path: string
  kind: DocKind
  model?: monaco.editor.ITextModel
  /** The server version the buffer started from; null for a file not on the server yet. */
  etag: string | null
  savedAlt: number
  dirty: boolean
  saving: boolean
  /** The last save failed for lack of a connection: it is retried when the API answers again. */
  retry: boolean
  conflict?: { theirs: { text: string; etag: string } | null }
  size?: number
  bytes?: Uint8Array
  contentType?: string
  error?: string
  viewState?: monaco.editor.ICodeEditorViewState | null
  /** Unsaved edits were restored from this browser when the file was opened. */
  restored?: 'clean' | 'stale'
  /** Set while a live-collaboration session owns the model's content. */
  collab?: CollabSession
  /** Why live collaboration is off for this document (not retried). */
  collabOff?: string
  language: string
  disposers: monaco.IDisposable[]
}

export class DocManager {
  readonly docs = new Map<string, Doc>()
  /** Bumped on every state change a component should render. */
  readonly changed = new Signal(0)
  private timers = new Map<string, ReturnType<typeof setTimeout>>()
  onSaved?: (path: string, file: FileMeta) => void

  constructor(private api: ApiClient, readonly ws: string, private userId: string) {}

  private bump() {
    this.changed.value++
  }

  get(path: string): Doc | undefined {
    return this.docs.get(path)
  }

  dirtyDocs(): Doc[] {
    return [...this.docs.values()].filter((d) => d.dirty)
  }

  /** Opens a file (or returns it if open). meta.size short-cuts files too large to open. */
  async open(path: string, meta?: FileMeta): Promise<Doc> {
    const existing = this.docs.get(path)
    if (existing && existing.kind !== 'error') return existing
    const doc: Doc = existing ?? { path, kind: 'loading', etag: null, savedAlt: 0, dirty: false, saving: false, retry: false, language: 'plaintext', disposers: [] }
    doc.kind = 'loading'
    this.docs.set(path, doc)
    this.bump()
    try {
      const c = await take(`file:${this.ws}:${path}`, () => readFile(this.api, this.ws, path, meta?.size))
      if (this.docs.get(path) !== doc) return doc // closed meanwhile
      const stored = loadBuffer(localStorage, this.userId, this.ws, path)
      switch (c.kind) {
        case 'text': {
          const decision = restoreDecision(stored, { text: c.text, etag: c.etag })
          doc.language = languageFor(path, c.language || meta?.language)
          this.attachModel(doc, c.text)
          doc.etag = c.etag
          if (decision.restore) {
            // Restore as an edit, so undo goes back to the server's text.
            doc.model!.pushEditOperations([], [{ range: doc.model!.getFullModelRange(), text: decision.text }], () => null)
            doc.etag = decision.etag ?? c.etag
            doc.restored = decision.stale ? 'stale' : 'clean'
          }
          doc.kind = 'text'
          if (!performance.getEntriesByName('vc:first-model').length) performance.mark('vc:first-model')
          break
        }
        case 'missing':
          if (stored) {
            // A file created here and never saved, or deleted on the server meanwhile.
            doc.language = languageFor(path, meta?.language)
            this.attachModel(doc, '')
            doc.model!.pushEditOperations([], [{ range: doc.model!.getFullModelRange(), text: stored.text }], () => null)
            doc.etag = null
            doc.restored = stored.baseEtag ? 'stale' : 'clean'
            doc.kind = 'text'
          } else doc.kind = 'missing'
          break
        case 'binary':
          Object.assign(doc, { kind: 'binary', bytes: c.bytes, size: c.size, etag: c.etag, contentType: c.contentType })
          break
        case 'too-large':
          Object.assign(doc, { kind: 'too-large', size: c.size })
          break
      }
    } catch (err) {
      doc.kind = 'error'
      doc.error = err instanceof Error ? err.message : String(err)
    }
    this.updateDirty(doc)
    this.bump()
    return doc
  }

  /** Creates a new, empty document for a file that does not exist on the server yet. */
  createNew(path: string, text = ''): Doc {
    const doc: Doc = { path, kind: 'text', etag: null, savedAlt: 0, dirty: false, saving: false, retry: false, language: languageFor(path), disposers: [] }
    this.attachModel(doc, text)
    this.docs.set(path, doc)
    this.bump()
    return doc
  }

  private attachModel(doc: Doc, text: string) {
    const uri = modelUri(this.ws, doc.path)
    monaco.editor.getModel(uri)?.dispose()
    doc.model = monaco.editor.createModel(text, doc.language, uri)
    doc.savedAlt = doc.model.getAlternativeVersionId()
    doc.disposers.push(doc.model.onDidChangeContent(() => {
      this.updateDirty(doc)
      this.scheduleBackup(doc)
      if (doc.collab) this.scheduleAutosave(doc)
      this.bump()
    }))
  }

  updateDirty(doc: Doc) {
    const wasDirty = doc.dirty
    // Dirty: changed since the last save to the API (a shared document is also kept on the
    // workspace disk by the agent, but the API's copy feeds search and other clients).
    doc.dirty = !!doc.model && (doc.model.getAlternativeVersionId() !== doc.savedAlt || doc.etag === null || doc.collab?.status.value === 'unsynced')
    if (wasDirty && !doc.dirty) {
      // Undone back to the saved text: the stored copy is no longer needed.
      dropBuffer(localStorage, this.userId, this.ws, doc.path)
    }
  }

  private autosaves = new Map<string, ReturnType<typeof setTimeout>>()

  /** A shared document is saved to the API shortly after this client's own edits. */
  private scheduleAutosave(doc: Doc) {
    clearTimeout(this.autosaves.get(doc.path))
    this.autosaves.set(doc.path, setTimeout(() => {
      if (doc.collab?.localEdits && doc.dirty && this.docs.get(doc.path) === doc) void this.save(doc.path).catch(() => {})
    }, 1500))
  }

  private scheduleBackup(doc: Doc) {
    clearTimeout(this.timers.get(doc.path))
    this.timers.set(doc.path, setTimeout(() => this.backup(doc), 400))
  }

  /** Writes the buffer to localStorage now (also called before the page unloads). */
  backup(doc: Doc) {
    if (!doc.model || doc.model.isDisposed()) return
    if (doc.dirty) {
      if (!storeBuffer(localStorage, this.userId, this.ws, doc.path, { text: doc.model.getValue(), baseEtag: doc.etag, savedAt: new Date().toISOString() })) {
        doc.error = 'This file is too large to keep a local copy of unsaved changes; save soon.'
      }
    } else dropBuffer(localStorage, this.userId, this.ws, doc.path)
  }

  backupAll() {
    for (const d of this.docs.values()) this.backup(d)
  }

  /** Saves a text document. Returns what happened; a conflict is kept on the doc for the dialog. */
  async save(path: string): Promise<'saved' | 'conflict' | 'offline' | 'error' | 'noop'> {
    const doc = this.docs.get(path)
    if (!doc || doc.kind !== 'text' || !doc.model || doc.saving) return 'noop'
    const alt = doc.model.getAlternativeVersionId()
    const text = doc.model.getValue()
    if (doc.collab) doc.collab.localEdits = false
    doc.saving = true
    this.bump()
    try {
      // A shared document is the truth for everyone editing it: written without a precondition.
      const r = await saveFile(this.api, this.ws, path, text, doc.collab ? '*' : doc.etag)
      if (r.kind === 'saved') {
        doc.etag = r.etag
        doc.savedAlt = alt
        doc.retry = false
        doc.conflict = undefined
        doc.restored = undefined
        this.updateDirty(doc)
        this.backup(doc)
        this.onSaved?.(path, r.file)
        return 'saved'
      }
      doc.conflict = { theirs: r.theirs }
      return 'conflict'
    } catch (err) {
      if (err instanceof ApiError && err.network) {
        doc.retry = true
        this.backup(doc)
        return 'offline'
      }
      doc.error = err instanceof Error ? err.message : String(err)
      throw err
    } finally {
      doc.saving = false
      this.bump()
    }
  }

  /** Resolves a save conflict: keep my text (written over theirs) or take theirs. */
  async resolve(path: string, choice: Resolution): Promise<void> {
    const doc = this.docs.get(path)
    if (!doc?.model || !doc.conflict) return
    const theirs = doc.conflict.theirs
    const mine = doc.model.getValue()
    const r = await resolveConflict(this.api, this.ws, path, mine, theirs, choice)
    if (choice === 'theirs') {
      doc.model.pushEditOperations([], [{ range: doc.model.getFullModelRange(), text: r.text }], () => null)
      doc.etag = r.etag
      doc.savedAlt = doc.model.getAlternativeVersionId()
      doc.conflict = undefined
    } else if (r.saved?.kind === 'saved') {
      doc.etag = r.saved.etag
      doc.savedAlt = doc.model.getAlternativeVersionId()
      doc.conflict = undefined
      this.onSaved?.(path, r.saved.file)
    } else if (r.saved?.kind === 'conflict') {
      doc.conflict = { theirs: r.saved.theirs } // changed again meanwhile: ask again
    }
    doc.restored = undefined
    this.updateDirty(doc)
    this.backup(doc)
    this.bump()
  }

  /** Saves every document whose last save failed for lack of a connection. */
  async retryPending(): Promise<void> {
    for (const d of [...this.docs.values()]) if (d.retry && d.dirty) await this.save(d.path).catch(() => {})
  }

  close(path: string) {
    const doc = this.docs.get(path)
    if (!doc) return
    this.backup(doc)
    clearTimeout(this.timers.get(path))
    doc.collab?.dispose()
    doc.disposers.forEach((d) => d.dispose())
    doc.model?.dispose()
    this.docs.delete(path)
    this.bump()
  }

  /** Open documents follow their files when those move: new model, same text and dirty state. */
  applyMoves(moves: Move[]) {
    for (const m of moves) {
      const doc = this.docs.get(m.from)
      if (!doc) continue
      this.docs.delete(m.from)
      dropBuffer(localStorage, this.userId, this.ws, m.from)
      const text = doc.model?.getValue()
      const wasDirty = doc.dirty
      doc.disposers.forEach((d) => d.dispose())
      doc.disposers = []
      doc.collab?.dispose()
      doc.collab = undefined
      doc.model?.dispose()
      doc.path = m.to
      doc.etag = null // re-read below
      if (text !== undefined) {
        doc.language = languageFor(m.to, doc.language)
        this.attachModel(doc, text)
      }
      this.docs.set(m.to, doc)
      // The moved file's ETag is its content hash, unchanged by the move.
      void readFile(this.api, this.ws, m.to).then((c) => {
        if (c.kind === 'text' && doc.model) {
          doc.etag = c.etag
          if (!wasDirty) doc.savedAlt = doc.model.getAlternativeVersionId()
          this.updateDirty(doc)
          this.bump()
        }
      }, () => {})
    }
    this.bump()
  }

  /** The file was deleted: close its document unless it has unsaved edits. */
  deleted(path: string) {
    const doc = this.docs.get(path)
    if (!doc) return
    if (doc.dirty) {
      doc.etag = null
      this.updateDirty(doc)
      this.bump()
    } else this.close(path)
  }

  disposeAll() {
    this.backupAll()
    for (const p of [...this.docs.keys()]) this.close(p)
  }
}
