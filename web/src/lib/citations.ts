// Citations in AI answers: `[path:start-end]` (or `[path:line]`) name lines of a workspace file.
// parseCitations splits text into plain runs and citations so the chat can render links that
// open the file at those lines; splitBlocks separates fenced code blocks from prose.

export interface Citation {
  path: string
  start: number
  end: number
}

export type Segment = { kind: 'text'; text: string } | { kind: 'cite'; text: string; cite: Citation }

// A path: no brackets, no white space at its ends, at least one character that is not ':';
// then :start or :start-end (an en dash is accepted too). A leading "./" is dropped.
const CITE = /(?<![\w\])])\[([^\[\]\n:]+?):(\d+)(?:\s*[-–]\s*(\d+))?\]/g

export function parseCitations(text: string): Segment[] {
  const out: Segment[] = []
  let last = 0
  for (const m of text.matchAll(CITE)) {
    const raw = m[1].trim()
    const start = Number(m[2])
    const end = m[3] ? Number(m[3]) : start
    const path = raw.replace(/^\.\//, '').replace(/^\/+/, '')
    if (!path || path.includes(' ') && !/\.\w+$/.test(path) || start < 1 || end < start) continue
    const i = m.index ?? 0
    if (i > last) out.push({ kind: 'text', text: text.slice(last, i) })
    out.push({ kind: 'cite', text: m[0], cite: { path, start, end } })
    last = i + m[0].length
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) })
  return out
}

/** Every distinct citation in text, in order of first appearance. */
export function citationsIn(text: string): Citation[] {
  const seen = new Set<string>()
  const out: Citation[] = []
  for (const s of parseCitations(text)) {
    if (s.kind !== 'cite') continue
    const k = `${s.cite.path}:${s.cite.start}-${s.cite.end}`
    if (!seen.has(k)) {
      seen.add(k)
      out.push(s.cite)
    }
  }
  return out
}

export type Block = { kind: 'text'; text: string } | { kind: 'code'; lang: string; code: string; closed: boolean }

/**
 * Splits markdown into prose and fenced code blocks (``` or ~~~, three or more). A fence still
 * open at the end (a streaming answer) is a code block with closed=false.
 */
export function splitBlocks(md: string): Block[] {
  const out: Block[] = []
  const lines = md.split('\n')
  let text: string[] = []
  let code: string[] | null = null
  let fence = ''
  let lang = ''
  const flushText = () => {
    if (text.length) {
      const t = text.join('\n')
      if (t.trim()) out.push({ kind: 'text', text: t })
      text = []
    }
  }
  for (const line of lines) {
    if (code === null) {
      const m = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/.exec(line)
      if (m) {
        flushText()
        fence = m[1]
        lang = m[2] || ''
        code = []
      } else text.push(line)
    } else {
      const close = new RegExp(`^\\s{0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
      if (close.test(line)) {
        out.push({ kind: 'code', lang, code: code.join('\n'), closed: true })
        code = null
      } else code.push(line)
    }
  }
  if (code !== null) out.push({ kind: 'code', lang, code: code.join('\n'), closed: false })
  else flushText()
  return out
}
