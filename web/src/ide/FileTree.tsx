import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { buildTree, dropTarget, formatBytes, isWithin, visibleRows, type TreeNode } from '../lib/paths'
import { useValue } from '../lib/signal'
import type { IdeController } from './controller'
import { Icon } from '../ui/icons'

function icon(n: TreeNode, open: boolean): string {
  if (n.kind === 'dir') return open ? '▾' : '▸'
  return ''
}

function fileBadge(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase()
  const map: Record<string, string> = { ts: 'TS', tsx: 'TS', js: 'JS', jsx: 'JS', mjs: 'JS', py: 'PY', go: 'GO', rs: 'RS', md: 'MD', json: '{}', html: '<>', css: '#', yaml: 'Y', yml: 'Y', java: 'J', c: 'C', h: 'C', cpp: 'C+', sh: '$', toml: 'T' }
  return map[ext] ?? '·'
}

interface Menu {
  x: number
  y: number
  path: string
  dir: boolean
}

export function FileTree({ ide }: { ide: IdeController }) {
  const files = useValue(ide.files)
  const extra = useValue(ide.extraDirs)
  const expanded = useValue(ide.expanded)
  const selected = useValue(ide.selected)
  const active = useValue(ide.active)
  const error = useValue(ide.filesError)
  const busy = useValue(ide.busy)
  useValue(ide.docs.changed)
  const [focus, setFocus] = useState<string | null>(null)
  const [dragOver, setDragOver] = useState<string | null>(null)
  const [menu, setMenu] = useState<Menu | null>(null)
  const treeRef = useRef<HTMLUListElement>(null)

  const tree = useMemo(() => buildTree(files, extra), [files, extra])
  const rows = useMemo(() => visibleRows(tree, expanded), [tree, expanded])
  const focused = focus && rows.some((r) => r.node.path === focus) ? focus : selected && rows.some((r) => r.node.path === selected) ? selected : rows[0]?.node.path ?? null

  useEffect(() => {
    if (!menu) return
    const close = () => setMenu(null)
    addEventListener('click', close)
    return () => removeEventListener('click', close)
  }, [menu])

  const toggle = (path: string, open?: boolean) => {
    const ex = new Set(expanded)
    const now = open ?? !ex.has(path)
    if (now) ex.add(path)
    else ex.delete(path)
    ide.expanded.value = ex
  }

  const activate = (n: TreeNode) => {
    ide.selected.value = n.path
    setFocus(n.path)
    if (n.kind === 'dir') toggle(n.path)
    else void ide.openFile(n.path, { focus: false })
  }

  const focusRow = (path: string) => {
    setFocus(path)
    ide.selected.value = path
    requestAnimationFrame(() => treeRef.current?.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`)?.focus())
  }

  const onKey = (e: KeyboardEvent) => {
    const i = rows.findIndex((r) => r.node.path === focused)
    if (i < 0) return
    const row = rows[i]
    const n = row.node
    switch (e.key) {
      case 'ArrowDown': if (i + 1 < rows.length) focusRow(rows[i + 1].node.path); break
      case 'ArrowUp': if (i > 0) focusRow(rows[i - 1].node.path); break
      case 'Home': focusRow(rows[0].node.path); break
      case 'End': focusRow(rows[rows.length - 1].node.path); break
      case 'ArrowRight':
        if (n.kind === 'dir') {
          if (!expanded.has(n.path)) toggle(n.path, true)
          else if (n.children[0]) focusRow(n.children[0].path)
        }
        break
      case 'ArrowLeft':
        if (n.kind === 'dir' && expanded.has(n.path)) toggle(n.path, false)
        else {
          const parent = rows.slice(0, i).reverse().find((r) => r.depth === row.depth - 1)
          if (parent) focusRow(parent.node.path)
        }
        break
      case 'Enter':
      case ' ':
        if (n.kind === 'file') void ide.openFile(n.path, { focus: e.key === 'Enter' })
        else toggle(n.path)
        break
      case 'F2': void ide.rename(n.path); break
      case 'Delete': void ide.remove(n.path); break
      case 'ContextMenu': {
        const el = e.target as HTMLElement
        const r = el.getBoundingClientRect()
        setMenu({ x: r.left + 20, y: r.bottom, path: n.path, dir: n.kind === 'dir' })
        break
      }
      default: return
    }
    e.preventDefault()
    e.stopPropagation()
  }

  const onDrop = (e: DragEvent, dir: string) => {
    e.preventDefault()
    e.stopPropagation() // a drop on a folder row is not also a drop on the tree (the root)
    setDragOver(null)
    const from = e.dataTransfer?.getData('application/x-vibecode-path')
    if (!from) return
    const to = dropTarget(from, dir)
    if (to === from || isWithin(dir, from)) return
    void ide.move(from, to)
  }

  const dropProps = (dir: string) => ({
    onDragOver: (e: DragEvent) => {
      if (!e.dataTransfer?.types.includes('application/x-vibecode-path')) return
      e.preventDefault()
      e.stopPropagation()
      e.dataTransfer.dropEffect = 'move'
      setDragOver(dir)
    },
    onDragLeave: () => setDragOver((d) => (d === dir ? null : d)),
    onDrop: (e: DragEvent) => onDrop(e, dir),
  })

  return (
    <div class="explorer" onContextMenu={(e) => { if (e.target === e.currentTarget) { e.preventDefault(); setMenu({ x: e.clientX, y: e.clientY, path: '', dir: true }) } }}>
      <div class="side-head">
        <h2 id="explorer-title">Explorer</h2>
        <div class="side-actions">
          <button type="button" class="icon" title="New file" aria-label="New file" onClick={() => ide.newFile()}><Icon name="newFile" size={16} /></button>
          <button type="button" class="icon" title="New folder" aria-label="New folder" onClick={() => ide.newFolder()}><Icon name="newFolder" size={16} /></button>
          <button type="button" class="icon" title="Refresh" aria-label="Refresh the file list" onClick={() => ide.refreshFiles()}><Icon name="refresh" size={16} /></button>
          <button type="button" class="icon" title="Collapse all" aria-label="Collapse all folders" onClick={() => { ide.expanded.value = new Set() }}><Icon name="collapse" size={16} /></button>
        </div>
      </div>
      {busy && <p class="muted small" role="status">{busy}</p>}
      {error && <p class="notice error small" role="alert">{error} <button type="button" class="link" onClick={() => ide.refreshFiles()}>Retry</button></p>}
      {!error && rows.length === 0 && (
        <div class="empty small">
          <p>This workspace is empty.</p>
          <button type="button" class="primary" onClick={() => ide.newFile('')}>Create a file</button>
        </div>
      )}
      <ul ref={treeRef} class={`tree ${dragOver === '' ? 'drop' : ''}`} role="tree" aria-labelledby="explorer-title" onKeyDown={onKey} {...dropProps('')}>
        {rows.map(({ node: n, depth }) => {
          const open = n.kind === 'dir' && expanded.has(n.path)
          const doc = n.kind === 'file' ? ide.docs.get(n.path) : undefined
          return (
            <li key={n.path} role="treeitem" data-path={n.path} aria-level={depth + 1} aria-expanded={n.kind === 'dir' ? open : undefined}
              aria-selected={selected === n.path} tabIndex={focused === n.path ? 0 : -1}
              class={`row ${selected === n.path ? 'selected' : ''} ${active === n.path ? 'active' : ''} ${dragOver === n.path ? 'drop' : ''}`}
              style={{ paddingLeft: `${8 + depth * 14}px` }}
              draggable
              title={n.file ? `${n.path} · ${formatBytes(n.file.size)}` : n.path}
              onDragStart={(e) => { e.dataTransfer!.setData('application/x-vibecode-path', n.path); e.dataTransfer!.effectAllowed = 'move' }}
              onClick={(e) => { e.stopPropagation(); activate(n) }}
              onDblClick={() => { if (n.kind === 'file') void ide.openFile(n.path) }}
              onContextMenu={(e) => { e.preventDefault(); e.stopPropagation(); ide.selected.value = n.path; setMenu({ x: e.clientX, y: e.clientY, path: n.path, dir: n.kind === 'dir' }) }}
              {...(n.kind === 'dir' ? dropProps(n.path) : {})}>
              <span class="twisty" aria-hidden="true">{icon(n, open)}</span>
              {n.kind === 'file' && <span class="badge" aria-hidden="true">{fileBadge(n.name)}</span>}
              <span class="name">{n.name}</span>
              {doc?.dirty && <span class="dot" aria-label="unsaved changes" title="Unsaved changes">●</span>}
            </li>
          )
        })}
      </ul>
      {menu && (
        <ul class="context-menu" role="menu" style={{ left: `${menu.x}px`, top: `${menu.y}px` }} onKeyDown={(e) => { if (e.key === 'Escape') setMenu(null) }}>
          <li role="none"><button type="button" role="menuitem" autofocus onClick={() => ide.newFile(menu.dir ? menu.path : menu.path.slice(0, menu.path.lastIndexOf('/') + 1).replace(/\/$/, ''))}>New file…</button></li>
          <li role="none"><button type="button" role="menuitem" onClick={() => ide.newFolder(menu.dir ? menu.path : '')}>New folder…</button></li>
          {menu.path && <li role="none"><button type="button" role="menuitem" onClick={() => ide.rename(menu.path)}>Rename… <kbd>F2</kbd></button></li>}
          {menu.path && <li role="none"><button type="button" role="menuitem" onClick={() => ide.remove(menu.path)}>Delete <kbd>Del</kbd></button></li>}
          {menu.path && <li role="none"><button type="button" role="menuitem" onClick={() => navigator.clipboard?.writeText(menu.path)}>Copy path</button></li>}
        </ul>
      )}
    </div>
  )
}
