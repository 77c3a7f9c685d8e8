import { useEffect, useRef, useState } from 'preact/hooks'
import { Icon } from '../ui/icons'
import { aiErrorMessage, streamAI, type ChatMessage, type CitationInfo, type Done } from '../lib/ai'
import { parseCitations, splitBlocks, type Citation } from '../lib/citations'
import { useValue } from '../lib/signal'
import { notify } from '../ui/app'
import type { IdeController } from './controller'

interface Msg {
  id: number
  role: 'user' | 'assistant'
  content: string
  /** What the user sees for their message when it differs from what was sent. */
  label?: string
  pending?: boolean
  error?: string
  done?: Done
  mode: 'workspace' | 'general'
}

let nextId = 1

function CiteLink({ c, ide, known }: { c: Citation; ide: IdeController; known: boolean }) {
  const label = c.start === c.end ? `${c.path}:${c.start}` : `${c.path}:${c.start}-${c.end}`
  if (!known) return <span class="cite unknown" title="Not a file of this workspace">[{label}]</span>
  return (
    <a href="#" class="cite" title={`Open ${c.path} at line ${c.start}`} onClick={(e) => { e.preventDefault(); void ide.openFile(c.path, { reveal: { line: c.start, endLine: c.end } }) }}>
      {label}
    </a>
  )
}

function Inline({ text, ide, known }: { text: string; ide: IdeController; known: (p: string) => boolean }) {
  // `code` spans, then citations in the rest.
  const parts = text.split(/(`[^`\n]+`)/g)
  return (
    <>
      {parts.map((p, i) => p.startsWith('`') && p.endsWith('`') && p.length > 2
        ? <code key={i}>{p.slice(1, -1)}</code>
        : parseCitations(p).map((s, j) => s.kind === 'cite' ? <CiteLink key={`${i}-${j}`} c={s.cite} ide={ide} known={known(s.cite.path)} /> : <span key={`${i}-${j}`}>{s.text}</span>))}
    </>
  )
}

function CodeBlock({ lang, code, ide, closed }: { lang: string; code: string; ide: IdeController; closed: boolean }) {
  const [copied, setCopied] = useState(false)
  return (
    <figure class="codeblock">
      <figcaption>
        <span>{lang || 'code'}</span>
        <span class="fill" />
        <button type="button" class="small" disabled={!closed} onClick={async () => {
          try {
            await navigator.clipboard.writeText(code)
            setCopied(true)
            setTimeout(() => setCopied(false), 1500)
          } catch {
            notify('error', 'The browser did not allow copying to the clipboard.')
          }
        }}>{copied ? 'Copied' : 'Copy'}</button>
        <button type="button" class="small" disabled={!closed} onClick={() => ide.insertAtCursor(code)} title="Insert at the cursor in the editor">Insert</button>
      </figcaption>
      <pre><code>{code}</code></pre>
    </figure>
  )
}

export function Markdown({ text, ide, known }: { text: string; ide: IdeController; known: (p: string) => boolean }) {
  return (
    <div class="md">
      {splitBlocks(text).map((b, i) => b.kind === 'code'
        ? <CodeBlock key={i} lang={b.lang} code={b.code} ide={ide} closed={b.closed} />
        : b.text.split(/\n{2,}/).map((para, j) => (
          <p key={`${i}-${j}`}>{para.split('\n').map((line, k) => <>{k > 0 && <br />}<Inline text={line} ide={ide} known={known} /></>)}</p>
        )))}
    </div>
  )
}

function Sources({ done, ide }: { done: Done; ide: IdeController }) {
  const list: CitationInfo[] = done.citations ?? []
  if (!list.length) return null
  return (
    <details class="sources" open>
      <summary>Cited ({list.length})</summary>
      <ul>
        {list.map((c) => (
          <li key={c.label}>
            <a href="#" onClick={(e) => { e.preventDefault(); void ide.openFile(c.path, { reveal: { line: c.start_line, endLine: c.end_line } }) }}>{c.path}:{c.start_line}-{c.end_line}</a>
            {c.snippet && <pre>{c.snippet.split('\n').slice(0, 4).join('\n')}</pre>}
          </li>
        ))}
      </ul>
    </details>
  )
}

export function ChatPanel({ ide, hidden }: { ide: IdeController; hidden?: boolean }) {
  const [msgs, setMsgs] = useState<Msg[]>([])
  const [input, setInput] = useState('')
  const [mode, setMode] = useState<'workspace' | 'general'>('workspace')
  const [abort, setAbort] = useState<AbortController | null>(null)
  const files = useValue(ide.files)
  const list = useRef<HTMLDivElement>(null)
  const inputRef = useRef<HTMLTextAreaElement>(null)
  const known = (p: string) => files.some((f) => f.path === p)

  useEffect(() => {
    const el = list.current
    if (el) el.scrollTop = el.scrollHeight
  }, [msgs])
  // Opening the panel puts the cursor in the message box.
  useEffect(() => { if (!hidden) inputRef.current?.focus() }, [hidden])

  const run = async (m: Msg, path: string, body: unknown) => {
    const ctl = new AbortController()
    setAbort(ctl)
    const answer: Msg = { id: nextId++, role: 'assistant', content: '', pending: true, mode: m.mode }
    setMsgs((ms) => [...ms, m, answer])
    const update = (f: (a: Msg) => Msg) => setMsgs((ms) => ms.map((x) => (x.id === answer.id ? f(x) : x)))
    try {
      const done = await streamAI(ide.api, path, body, { onDelta: (t) => update((a) => ({ ...a, content: a.content + t })) }, ctl.signal)
      update((a) => ({ ...a, pending: false, done: done ?? undefined }))
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') update((a) => ({ ...a, pending: false, error: 'Stopped.' }))
      else update((a) => ({ ...a, pending: false, error: aiErrorMessage(err) }))
    } finally {
      setAbort(null)
    }
  }

  const history = (): ChatMessage[] => msgs.filter((x) => !x.error && !x.pending && x.content).slice(-12).map((x) => ({ role: x.role, content: x.content }))

  const send = (text: string) => {
    const q = text.trim()
    if (!q || abort) return
    setInput('')
    const m: Msg = { id: nextId++, role: 'user', content: q, mode }
    if (mode === 'workspace') void run(m, `/api/workspaces/${ide.ws}/chat`, { question: q, history: history() })
    else void run(m, '/api/ai/chat', { messages: [...history(), { role: 'user', content: q }] })
  }

  // Selection workflows from the editor's context menu and the command palette.
  useEffect(() => {
    ide.ask = (kind, code, path, language) => {
      ide.chatOpen.value = true
      const fence = '```'
      if (kind === 'explain') {
        const content = `Explain this code from ${path}:\n\n${fence}${language}\n${code}\n${fence}`
        void run({ id: nextId++, role: 'user', content, label: `Explain the selection in ${path}`, mode: 'general' }, '/api/ai/chat', { messages: [{ role: 'user', content }] })
        return
      }
      const wf = kind === 'review' ? 'code-review' : kind === 'document' ? 'documentation' : 'code-generation'
      const label = kind === 'review' ? `Review the selection in ${path}` : kind === 'document' ? `Document the selection in ${path}` : `Generate code for ${path}`
      void run({ id: nextId++, role: 'user', content: label, label, mode: 'general' }, `/api/ai/workflows/${wf}`, { code, language, filename: path })
    }
    return () => { ide.ask = undefined }
  }, [msgs, abort])

  return (
    <aside class="chat" aria-labelledby="chat-title" hidden={hidden}>
      <div class="side-head">
        <h2 id="chat-title">AI chat</h2>
        <div class="side-actions">
          <button type="button" class="icon" title="New chat" aria-label="New chat" onClick={() => { abort?.abort(); setMsgs([]) }}><Icon name="plus" size={16} /></button>
          <button type="button" class="icon" title="Close" aria-label="Close the chat" onClick={() => { ide.chatOpen.value = false }}>×</button>
        </div>
      </div>
      <div class="segmented small" role="radiogroup" aria-label="Answer from">
        <label class={mode === 'workspace' ? 'selected' : ''}><input type="radio" name="chat-mode" checked={mode === 'workspace'} onChange={() => setMode('workspace')} />This workspace</label>
        <label class={mode === 'general' ? 'selected' : ''}><input type="radio" name="chat-mode" checked={mode === 'general'} onChange={() => setMode('general')} />General</label>
      </div>
      <div ref={list} class="chat-log" role="log" aria-live="polite" aria-busy={!!abort}>
        {msgs.length === 0 && (
          <div class="muted small chat-empty">
            <p>Ask about this workspace's code; answers cite the files and lines they use, e.g. <em>“Where is the login handled?”</em></p>
            <p>Select code and right-click for Explain, Review or Document.</p>
          </div>
        )}
        {msgs.map((m) => (
          <div key={m.id} class={`msg msg-${m.role}`} data-testid={`msg-${m.role}`}>
            <div class="msg-who">{m.role === 'user' ? 'You' : 'AI'}{m.role === 'assistant' && m.done?.model && <small class="muted"> · {m.done.model}{m.done.cost_usd ? ` · $${m.done.cost_usd.toFixed(4)}` : ''}</small>}</div>
            {m.role === 'user' ? <p class="msg-user-text">{m.label ?? m.content}</p> : <Markdown text={m.content} ide={ide} known={known} />}
            {m.pending && !m.content && <p class="muted" role="status">Thinking…</p>}
            {m.error && <p class="notice error small" role="alert">{m.error}</p>}
            {m.done && <Sources done={m.done} ide={ide} />}
          </div>
        ))}
      </div>
      <form class="chat-input" onSubmit={(e) => { e.preventDefault(); send(input) }}>
        <label class="sr-only" for="chat-q">Message</label>
        <textarea id="chat-q" ref={inputRef} rows={3} value={input} placeholder={mode === 'workspace' ? 'Ask about this workspace…' : 'Ask anything…'}
          onInput={(e) => setInput((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); send(input) } }} />
        {abort ? <button type="button" onClick={() => abort.abort()}>Stop</button> : <button type="submit" class="primary" disabled={!input.trim()}>Send</button>}
      </form>
    </aside>
  )
}
