// Workspace paths and the file tree. The API stores files only (folders exist through the
// files under them), so folders the user creates stay client-side until a file lands in them,
// and a folder rename or move is a plan of per-file moves.

export interface FileMeta {
  path: string
  size: number
  hash: string
  language: string
  version: number
  modified_at: string
}

export interface TreeNode {
  name: string
  /** The full path; "" for the root. */
  path: string
  kind: 'file' | 'dir'
  children: TreeNode[]
  file?: FileMeta
}

export function basename(p: string): string {
  const i = p.lastIndexOf('/')
  return i < 0 ? p : p.slice(i + 1)
}

export function dirname(p: string): string {
  const i = p.lastIndexOf('/')
  return i < 0 ? '' : p.slice(0, i)
}

export function extname(p: string): string {
  const b = basename(p)
  const i = b.lastIndexOf('.')
  return i <= 0 ? '' : b.slice(i).toLowerCase()
}

export function joinPath(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name
}

/** Whether p is dir itself or inside it. */
export function isWithin(p: string, dir: string): boolean {
  return dir === '' || p === dir || p.startsWith(dir + '/')
}

/**
 * Checks one name (a file or folder name typed by the user) and returns why it is refused, or
 * null. A name may hold slashes when `allowSlash` (creating "src/app/main.go" at once).
 */
export function validateName(name: string, allowSlash = false): string | null {
  if (!name.trim()) return 'A name is required.'
  if (name !== name.trim()) return 'A name cannot start or end with spaces.'
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'A name cannot contain control characters.'
  if (name.includes('\\')) return 'Use / to separate folders, not \\.'
  const parts = name.split('/')
  if (parts.length > 1 && !allowSlash) return 'A name cannot contain /.'
  if (name.startsWith('/')) return 'A path is relative to the workspace; remove the leading /.'
  for (const part of parts) {
    if (part === '') return 'A path cannot have empty parts (//) or end with /.'
    if (part === '.' || part === '..') return 'A path cannot contain . or .. parts.'
    if (new TextEncoder().encode(part).length > 255) return 'A name is at most 255 bytes.'
  }
  if (new TextEncoder().encode(name).length > 1024) return 'A path is at most 1024 bytes.'
  return null
}

/** Builds the tree: folders first, then files, each by name (case-insensitive, then exact). */
export function buildTree(files: FileMeta[], extraDirs: Iterable<string> = []): TreeNode {
  const root: TreeNode = { name: '', path: '', kind: 'dir', children: [] }
  const dirs = new Map<string, TreeNode>([['', root]])
  const dir = (p: string): TreeNode => {
    let d = dirs.get(p)
    if (d) return d
    const parent = dir(dirname(p))
    d = { name: basename(p), path: p, kind: 'dir', children: [] }
    parent.children.push(d)
    dirs.set(p, d)
    return d
  }
  for (const d of extraDirs) if (d) dir(d)
  for (const f of files) {
    dir(dirname(f.path)).children.push({ name: basename(f.path), path: f.path, kind: 'file', children: [], file: f })
  }
  const sort = (n: TreeNode) => {
    n.children.sort((a, b) => a.kind !== b.kind ? (a.kind === 'dir' ? -1 : 1) : compareNames(a.name, b.name))
    n.children.forEach(sort)
  }
  sort(root)
  return root
}

export function compareNames(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0
}

/** The visible rows of a tree given the expanded folders, depth-first (for keyboard navigation). */
export function visibleRows(root: TreeNode, expanded: Set<string>): { node: TreeNode; depth: number }[] {
  const rows: { node: TreeNode; depth: number }[] = []
  const walk = (n: TreeNode, depth: number) => {
    for (const c of n.children) {
      rows.push({ node: c, depth })
      if (c.kind === 'dir' && expanded.has(c.path)) walk(c, depth + 1)
    }
  }
  walk(root, 0)
  return rows
}

export interface Move {
  from: string
  to: string
}

/**
 * The file moves that rename or move `from` (a file, or a folder with everything in it) to
 * `to`. Refuses moving a folder into itself, onto an existing file, or a no-op.
 */
export function planMove(paths: string[], from: string, to: string): { moves: Move[]; error?: string } {
  if (from === to) return { moves: [], error: 'The source and the destination are the same.' }
  if (isWithin(to, from) && to !== from) return { moves: [], error: 'A folder cannot be moved into itself.' }
  const existing = new Set(paths)
  const moves: Move[] = []
  if (existing.has(from)) moves.push({ from, to })
  else {
    for (const p of paths) if (p.startsWith(from + '/')) moves.push({ from: p, to: to + p.slice(from.length) })
  }
  const moving = new Set(moves.map((m) => m.from))
  for (const m of moves) {
    if (existing.has(m.to) && !moving.has(m.to)) return { moves: [], error: `${m.to} already exists.` }
  }
  // A file in the way of a folder ("a" exists and "a/b" would be created) fails on the server;
  // say so now.
  for (const m of moves) {
    for (let d = dirname(m.to); d; d = dirname(d)) {
      if (existing.has(d) && !moving.has(d)) return { moves: [], error: `${d} is a file, not a folder.` }
    }
  }
  return { moves }
}

/** The destination of dropping `from` onto folder `dir` (keeps the name). */
export function dropTarget(from: string, dir: string): string {
  return joinPath(dir, basename(from))
}

/** Rewrites a path moved by `moves` (open tabs follow their file). */
export function applyMoves(p: string, moves: Move[]): string {
  for (const m of moves) if (m.from === p) return m.to
  return p
}

const BINARY_EXT = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.ico', '.bmp', '.pdf', '.zip', '.gz', '.tgz', '.tar', '.7z', '.rar', '.jar', '.class', '.wasm', '.exe', '.dll', '.so', '.dylib', '.o', '.a', '.bin', '.woff', '.woff2', '.ttf', '.otf', '.eot', '.mp3', '.mp4', '.mov', '.avi', '.webm', '.ogg', '.wav', '.flac', '.sqlite', '.db', '.pyc'])
const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.ico', '.bmp', '.svg'])

export function looksBinary(p: string): boolean {
  return BINARY_EXT.has(extname(p))
}

export function isImage(p: string): boolean {
  return IMAGE_EXT.has(extname(p))
}

/** Text heuristics on fetched bytes: NUL bytes or invalid UTF-8 mean binary. */
export function isBinaryContent(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8000)
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return false
  } catch {
    return true
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/**
 * Fuzzy match for quick open: every character of the query appears in order (case-insensitive);
 * a higher score for matches in the file name, at word starts and in runs. null: no match.
 */
export function fuzzyScore(query: string, target: string): number | null {
  const q = query.toLowerCase().replace(/\s+/g, '')
  if (!q) return 0
  const t = target.toLowerCase()
  const nameStart = target.lastIndexOf('/') + 1
  let score = 0
  let ti = 0
  let run = 0
  for (let qi = 0; qi < q.length; qi++) {
    const c = q[qi]
    let found = -1
    for (let j = ti; j < t.length; j++) if (t[j] === c) { found = j; break }
    if (found < 0) return null
    run = found === ti && qi > 0 ? run + 1 : 0
    score += 1 + run * 2
    if (found >= nameStart) score += 2
    if (found === nameStart || found === 0 || '/_-. '.includes(target[found - 1] ?? '') || /[a-z]/.test(target[found - 1] ?? '') && /[A-Z]/.test(target[found])) score += 3
    ti = found + 1
  }
  if (t.slice(nameStart).startsWith(q)) score += 10
  return score - target.length * 0.01
}
