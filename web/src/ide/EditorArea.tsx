import { useEffect, useRef, useState } from 'preact/hooks'
import { basename, formatBytes, isImage } from '../lib/paths'
import { useValue } from '../lib/signal'
import { MAX_EDITOR_BYTES } from '../lib/files'
import type { IdeController } from './controller'
import type { Doc } from './docs'
import { monaco, monacoTheme } from './monaco'
import { registerInlineCompletion } from './completion'

function Tabs({ ide }: { ide: IdeController }) {
  const tabs = useValue(ide.tabs)
  const active = useValue(ide.active)
  useValue(ide.docs.changed)
  const onKey = (e: KeyboardEvent, i: number) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const j = (i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length
      ide.activate(tabs[j])
      requestAnimationFrame(() => document.getElementById(`tab-${j}`)?.focus())
      e.preventDefault()
    } else if (e.key === 'Delete') {
      void ide.closeTab(tabs[i])
      e.preventDefault()
    }
  }
  if (!tabs.length) return null
  return (
    <div class="tabs" role="tablist" aria-label="Open files">
      {tabs.map((t, i) => {
        const d = ide.docs.get(t)
        const dup = tabs.filter((x) => basename(x) === basename(t)).length > 1
        return (
          <div key={t} class={`tab ${t === active ? 'active' : ''} ${d?.dirty ? 'dirty' : ''}`} title={t}
            onMouseDown={(e) => { if (e.button === 1) { e.preventDefault(); void ide.closeTab(t) } }}>
            <button type="button" role="tab" id={`tab-${i}`} aria-selected={t === active} aria-controls="editor-panel" tabIndex={t === active ? 0 : -1}
              class="tab-label" onClick={() => ide.activate(t)} onKeyDown={(e) => onKey(e, i)}>
              {basename(t)}{dup && <small class="muted"> {t.slice(0, t.lastIndexOf('/'))}</small>}
              {d?.dirty && <span class="sr-only"> (unsaved)</span>}
            </button>
            <button type="button" class="tab-close" tabIndex={-1} aria-label={`Close ${basename(t)}`} title="Close (Alt+W)" onClick={() => ide.closeTab(t)}>
              <span class="when-dirty" aria-hidden="true">●</span><span class="when-clean" aria-hidden="true">×</span>
            </button>
          </div>
        )
      })}
    </div>
  )
}

function download(doc: Doc) {
  const blob = new Blob([doc.bytes ? doc.bytes.slice().buffer as ArrayBuffer : new ArrayBuffer(0)], { type: doc.contentType || 'application/octet-stream' })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = basename(doc.path)
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}

function ImagePreview({ doc }: { doc: Doc }) {
  const [url, setUrl] = useState<string | null>(null)
  useEffect(() => {
    const ext = doc.path.slice(doc.path.lastIndexOf('.') + 1).toLowerCase()
    const type = ext === 'svg' ? 'image/svg+xml' : `image/${ext === 'jpg' ? 'jpeg' : ext}`
    const u = URL.createObjectURL(new Blob([doc.bytes!.slice().buffer as ArrayBuffer], { type }))
    setUrl(u)
    return () => URL.revokeObjectURL(u)
  }, [doc.bytes])
  return url ? <img class="preview" src={url} alt={`Preview of ${basename(doc.path)}`} /> : null
}

function NonText({ doc, ide }: { doc: Doc; ide: IdeController }) {
  switch (doc.kind) {
    case 'loading':
      return <div class="editor-message" role="status">Opening {basename(doc.path)}…</div>
    case 'binary':
      return (
        <div class="editor-message">
          {isImage(doc.path) && doc.bytes && <ImagePreview doc={doc} />}
          <p><strong>{basename(doc.path)}</strong> is a binary file ({formatBytes(doc.size ?? 0)}), so it is not shown in the editor.</p>
          <button type="button" onClick={() => download(doc)}>Download</button>
        </div>
      )
    case 'too-large':
      return (
        <div class="editor-message">
          <p><strong>{basename(doc.path)}</strong> is {formatBytes(doc.size ?? 0)}: too large to open in the editor (the limit is {formatBytes(MAX_EDITOR_BYTES)}).</p>
          <p class="muted">Use a terminal (<code>less</code>, <code>head</code>) or search to look inside it.</p>
        </div>
      )
    case 'missing':
      return (
        <div class="editor-message">
          <p><strong>{doc.path}</strong> does not exist any more (deleted or moved).</p>
          <button type="button" onClick={() => ide.closeTab(doc.path)}>Close the tab</button>
        </div>
      )
    case 'error':
      return (
        <div class="editor-message" role="alert">
          <p>Could not open <strong>{doc.path}</strong>: {doc.error}</p>
          <button type="button" onClick={() => ide.openFile(doc.path)}>Try again</button>
        </div>
      )
    default:
      return null
  }
}

export function EditorArea({ ide }: { ide: IdeController }) {
  const host = useRef<HTMLDivElement>(null)
  const active = useValue(ide.active)
  useValue(ide.docs.changed)
  const doc = active ? ide.docs.get(active) : undefined
  const shown = useRef<string | null>(null)

  useEffect(() => {
    const editor = monaco.editor.create(host.current!, {
      model: null,
      theme: monacoTheme(),
      automaticLayout: true,
      fontSize: 14,
      minimap: { enabled: true },
      scrollBeyondLastLine: false,
      tabSize: 2,
      renderWhitespace: 'selection',
      bracketPairColorization: { enabled: true },
      inlineSuggest: { enabled: true },
      fixedOverflowWidgets: true,
      ariaLabel: 'Code editor',
    })
    ide.editor = editor
    const subs = [
      editor.onDidChangeCursorSelection((e) => {
        const model = editor.getModel()
        const sel = e.selection
        ide.cursor.value = { line: sel.positionLineNumber, column: sel.positionColumn, selected: model ? model.getValueLengthInRange(sel) : 0 }
      }),
    ]
    const actions = [
      editor.addAction({ id: 'vibecode.ai.explain', label: 'AI: Explain the selection', contextMenuGroupId: '1_ai', contextMenuOrder: 1, run: () => ask('explain') }),
      editor.addAction({ id: 'vibecode.ai.review', label: 'AI: Review the selection', contextMenuGroupId: '1_ai', contextMenuOrder: 2, run: () => ask('review') }),
      editor.addAction({ id: 'vibecode.ai.document', label: 'AI: Document the selection', contextMenuGroupId: '1_ai', contextMenuOrder: 3, run: () => ask('document') }),
    ]
    function ask(kind: 'explain' | 'review' | 'document') {
      const s = ide.selectionText()
      if (s) ide.ask?.(kind, s.code, s.path, s.language)
    }
    const completion = registerInlineCompletion(ide, editor)
    return () => {
      completion.dispose()
      subs.forEach((s) => s.dispose())
      actions.forEach((a) => a.dispose())
      ide.editor = null
      editor.dispose()
    }
  }, [])

  // Show the active document's model, keeping each document's view state (scroll, cursor).
  useEffect(() => {
    const editor = ide.editor
    if (!editor) return
    const prev = shown.current ? ide.docs.get(shown.current) : undefined
    if (prev && prev.model && editor.getModel() === prev.model) prev.viewState = editor.saveViewState()
    const model = doc?.kind === 'text' ? doc.model ?? null : null
    if (editor.getModel() !== model) {
      editor.setModel(model)
      if (model && doc?.viewState) editor.restoreViewState(doc.viewState)
    }
    shown.current = model ? active : null
  })

  const textShown = doc?.kind === 'text'
  return (
    <div class="editor-area">
      <Tabs ide={ide} />
      <div id="editor-panel" class="editor-panel" role="tabpanel" aria-label={active ? `Editor: ${active}` : 'Editor'}>
        <div ref={host} class="monaco-host" style={{ visibility: textShown ? 'visible' : 'hidden' }} data-testid="monaco-host" />
        {doc && !textShown && <NonText doc={doc} ide={ide} />}
        {!doc && (
          <div class="editor-message welcome">
            <h2>VibeCode</h2>
            <dl class="shortcuts">
              <div><dt><kbd>Ctrl</kbd>+<kbd>P</kbd></dt><dd>Go to file</dd></div>
              <div><dt><kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>P</kbd></dt><dd>Show all commands</dd></div>
              <div><dt><kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>F</kbd></dt><dd>Search the workspace</dd></div>
              <div><dt><kbd>Ctrl</kbd>+<kbd>`</kbd></dt><dd>Toggle the terminal</dd></div>
              <div><dt><kbd>Ctrl</kbd>+<kbd>Alt</kbd>+<kbd>I</kbd></dt><dd>AI chat</dd></div>
            </dl>
          </div>
        )}
      </div>
    </div>
  )
}
