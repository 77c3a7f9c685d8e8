import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../lib/api'
import { message } from '../ui/app'
import type { IdeController } from './controller'

export interface SearchHit {
  path: string
  start_line: number
  end_line: number
  language: string
  symbol: string
  score: number
  snippet: string
}

export interface IndexStatus {
  files: number
  chunks: number
  pending: number
  failed: number
  skipped: number
  last_indexed_at: string | null
  errors: { path: string; state: string; reason?: string }[]
}

const LANGS = ['', 'go', 'typescript', 'javascript', 'python', 'rust', 'java', 'c', 'cpp', 'ruby', 'markdown']

/** Polls the index status: every second while files are pending, every 10 s otherwise. */
export function useIndexStatus(ide: IdeController): IndexStatus | null {
  const [st, setSt] = useState<IndexStatus | null>(null)
  const peak = useRef(0)
  useEffect(() => {
    let stop = false
    let timer: ReturnType<typeof setTimeout>
    const tick = async () => {
      let delay = 10_000
      try {
        const s = await ide.api.get<IndexStatus>(`/api/workspaces/${ide.ws}/index`)
        if (stop) return
        setSt(s)
        if (s.pending > 0) delay = 1000
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return // no search on this server
      }
      if (!stop) timer = setTimeout(tick, delay)
    }
    void tick()
    const unsub = ide.files.subscribe(() => { clearTimeout(timer); timer = setTimeout(tick, 300) })
    return () => { stop = true; clearTimeout(timer); unsub() }
  }, [])
  if (st && st.pending > peak.current) peak.current = st.pending
  if (st && st.pending === 0) peak.current = 0
  return st
}

export function IndexBadge({ st }: { st: IndexStatus | null }) {
  if (!st) return null
  if (st.pending > 0) {
    const total = st.files + st.pending
    return (
      <span class="index-status" role="status" title={`${st.pending} files waiting to be indexed`}>
        Indexing… {st.files}/{total}
        <progress max={total} value={st.files} aria-label="Indexing progress" />
      </span>
    )
  }
  return <span class="index-status" title={st.last_indexed_at ? `Last indexed ${new Date(st.last_indexed_at).toLocaleString()}` : ''}>Indexed {st.files} files{st.failed ? `, ${st.failed} failed` : ''}</span>
}

export function SearchPanel({ ide }: { ide: IdeController }) {
  const [query, setQuery] = useState('')
  const [path, setPath] = useState('')
  const [lang, setLang] = useState('')
  const [hits, setHits] = useState<SearchHit[] | null>(null)
  const [took, setTook] = useState<number | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [filters, setFilters] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  const st = useIndexStatus(ide)
  const abort = useRef<AbortController | null>(null)

  useEffect(() => {
    ide.focusSearch = () => input.current?.focus()
    input.current?.focus()
    return () => { ide.focusSearch = undefined }
  }, [])

  const run = async (e?: Event) => {
    e?.preventDefault()
    const q = query.trim()
    if (!q) return
    abort.current?.abort()
    const ctl = new AbortController()
    abort.current = ctl
    setBusy(true)
    setError(null)
    try {
      const body: Record<string, unknown> = { query: q, limit: 30 }
      if (path.trim()) body.path = path.trim()
      if (lang) body.language = lang
      const r = await ide.api.post<{ results: SearchHit[]; took_ms: number }>(`/api/workspaces/${ide.ws}/search`, body, ctl.signal)
      setHits(r.results ?? [])
      setTook(r.took_ms)
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError') setError(message(err))
    } finally {
      if (abort.current === ctl) setBusy(false)
    }
  }

  // Results grouped by file, in rank order of each file's best hit.
  const groups: [string, SearchHit[]][] = []
  for (const h of hits ?? []) {
    const g = groups.find(([p]) => p === h.path)
    if (g) g[1].push(h)
    else groups.push([h.path, [h]])
  }

  return (
    <div class="search">
      <div class="side-head"><h2 id="search-title">Search</h2></div>
      <form onSubmit={run} role="search" aria-labelledby="search-title" class="search-form">
        <label class="sr-only" for="search-q">Search query</label>
        <input id="search-q" ref={input} type="search" placeholder="Describe what you are looking for…" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <button type="button" class="icon" aria-expanded={filters} aria-controls="search-filters" title="Filters" onClick={() => setFilters(!filters)}>⋯</button>
        {filters && (
          <div id="search-filters" class="search-filters">
            <label class="field small"><span>Files to include</span><input placeholder="e.g. src/*.go" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} /></label>
            <label class="field small"><span>Language</span>
              <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value)}>
                {LANGS.map((l) => <option key={l} value={l}>{l || 'Any'}</option>)}
              </select>
            </label>
          </div>
        )}
        <button type="submit" class="primary small" disabled={!query.trim() || busy}>{busy ? 'Searching…' : 'Search'}</button>
      </form>
      <div class="index-line"><IndexBadge st={st} /></div>
      {error && <p class="notice error small" role="alert">{error}</p>}
      <div class="results" aria-live="polite">
        {hits && <p class="muted small">{hits.length} result{hits.length === 1 ? '' : 's'}{took != null ? ` in ${took} ms` : ''}{st && st.pending > 0 ? ' (indexing is not finished; results may be incomplete)' : ''}</p>}
        {groups.map(([p, hs]) => (
          <div key={p} class="result-file">
            <div class="result-path" title={p}>{p}</div>
            <ul>
              {hs.map((h) => (
                <li key={`${h.start_line}-${h.end_line}`}>
                  <button type="button" class="result" onClick={() => ide.openFile(h.path, { reveal: { line: h.start_line, endLine: h.end_line } })}
                    aria-label={`${h.path} lines ${h.start_line} to ${h.end_line}${h.symbol ? `, ${h.symbol}` : ''}`}>
                    <span class="result-head">{h.symbol && <strong>{h.symbol}</strong>} <span class="muted">:{h.start_line}-{h.end_line}</span></span>
                    <pre class="snippet">{h.snippet.split('\n').slice(0, 6).join('\n')}</pre>
                  </button>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
    </div>
  )
}
