import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { fuzzyScore } from '../lib/paths'
import { useValue } from '../lib/signal'
import type { Command, IdeController } from './controller'

interface Item {
  id: string
  label: string
  detail?: string
  keys?: string
  run: () => void
}

/** Quick open (Ctrl+P), the command palette (Ctrl+Shift+P, or ">"), go to line (Ctrl+G, or ":"). */
export function Palette({ ide }: { ide: IdeController }) {
  const mode = useValue(ide.palette)
  const files = useValue(ide.files)
  const [text, setText] = useState('')
  const [sel, setSel] = useState(0)
  const input = useRef<HTMLInputElement>(null)
  const prevFocus = useRef<HTMLElement | null>(null)

  useEffect(() => {
    if (!mode) return
    prevFocus.current = document.activeElement as HTMLElement
    if (mode === 'files') void ide.refreshFiles()
    setText(mode === 'commands' ? '>' : mode === 'line' ? ':' : '')
    setSel(0)
    requestAnimationFrame(() => input.current?.focus())
  }, [mode])

  const close = (restore = true) => {
    ide.palette.value = null
    if (restore) prevFocus.current?.focus?.()
  }

  const items: Item[] = useMemo(() => {
    if (!mode) return []
    if (text.startsWith('>')) {
      const q = text.slice(1).trim()
      return ide.commands
        .filter((c: Command) => !c.when || c.when())
        .map((c) => ({ c, s: fuzzyScore(q, c.label) }))
        .filter((x) => x.s !== null)
        .sort((a, b) => (q ? b.s! - a.s! : a.c.label.localeCompare(b.c.label)))
        .map(({ c }) => ({ id: c.id, label: c.label, keys: c.keys, run: () => { close(false); void c.run() } }))
    }
    if (text.startsWith(':')) {
      const n = parseInt(text.slice(1), 10)
      const model = ide.editor?.getModel()
      if (!model) return [{ id: 'none', label: 'Open a file to go to a line', run: () => close() }]
      const max = model.getLineCount()
      return [{ id: 'line', label: Number.isFinite(n) ? `Go to line ${Math.min(Math.max(n, 1), max)}` : `Type a line number between 1 and ${max}`, run: () => { if (Number.isFinite(n)) { close(false); ide.reveal({ line: n }) } } }]
    }
    const q = text.trim()
    const recent = ide.tabs.value
    return files
      .map((f) => ({ f, s: fuzzyScore(q, f.path) }))
      .filter((x) => x.s !== null)
      .sort((a, b) => (q ? b.s! - a.s! : (recent.includes(b.f.path) ? 1 : 0) - (recent.includes(a.f.path) ? 1 : 0) || a.f.path.localeCompare(b.f.path)))
      .slice(0, 200)
      .map(({ f }) => ({ id: f.path, label: f.path.slice(f.path.lastIndexOf('/') + 1), detail: f.path, run: () => { close(false); void ide.openFile(f.path) } }))
  }, [mode, text, files])

  useEffect(() => setSel(0), [text])
  useEffect(() => {
    document.getElementById(`pal-${sel}`)?.scrollIntoView({ block: 'nearest' })
  }, [sel])

  if (!mode) return null
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') setSel((s) => Math.min(s + 1, items.length - 1))
    else if (e.key === 'ArrowUp') setSel((s) => Math.max(s - 1, 0))
    else if (e.key === 'PageDown') setSel((s) => Math.min(s + 10, items.length - 1))
    else if (e.key === 'PageUp') setSel((s) => Math.max(s - 10, 0))
    else if (e.key === 'Enter') items[sel]?.run()
    else if (e.key === 'Escape') close()
    else return
    e.preventDefault()
    e.stopPropagation()
  }
  // Focus leaving the palette (a click elsewhere) closes it. The check waits a moment (focus may
  // move within the palette) and only applies to the palette that lost focus: an input already
  // removed belongs to one that was closed (Enter, Escape), and its late check must not close
  // a palette opened since, whose input may not have focus yet.
  const onBlur = (e: FocusEvent) => {
    const el = e.currentTarget as HTMLInputElement
    setTimeout(() => {
      if (el.isConnected && ide.palette.value && !document.activeElement?.closest('.palette')) close(false)
    }, 100)
  }
  const label = text.startsWith('>') ? 'Command palette' : text.startsWith(':') ? 'Go to line' : 'Go to file'
  return (
    <div class="palette-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget) close() }}>
      <div class="palette" role="dialog" aria-modal="true" aria-label={label}>
        <input ref={input} role="combobox" aria-expanded="true" aria-controls="palette-list" aria-autocomplete="list"
          aria-activedescendant={items[sel] ? `pal-${sel}` : undefined} aria-label={label}
          placeholder={text.startsWith('>') ? 'Type a command' : 'Search files by name (type > for commands, : for a line)'}
          value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} onKeyDown={onKey} onBlur={onBlur} />
        <ul id="palette-list" role="listbox" class="palette-list">
          {items.map((it, i) => (
            <li key={it.id} id={`pal-${i}`} role="option" aria-selected={i === sel} class={i === sel ? 'selected' : ''}
              onMouseMove={() => setSel(i)} onMouseDown={(e) => { e.preventDefault(); it.run() }}>
              <span class="pal-label">{it.label}</span>
              {it.detail && <span class="pal-detail">{it.detail}</span>}
              {it.keys && <kbd class="pal-keys">{it.keys}</kbd>}
            </li>
          ))}
          {items.length === 0 && <li class="muted pal-empty" role="option" aria-selected="false" aria-disabled="true">No matches</li>}
        </ul>
      </div>
    </div>
  )
}
