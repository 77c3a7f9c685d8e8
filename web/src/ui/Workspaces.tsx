import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError } from '../lib/api'
import { formatBytes } from '../lib/paths'
import { api, message, navigate, notify } from './app'
import { confirmDialog, promptDialog } from './dialogs'
import { TopBar } from './TopBar'

export interface Workspace {
  id: string
  owner_id: string
  name: string
  created_at: string
  updated_at: string
}

export interface ImportReport {
  imported: number
  bytes: number
  skipped: { path: string; reason: string }[]
  skipped_total: number
  root?: string
}

export function validateWorkspaceName(v: string): string | null {
  const t = v.trim()
  if (!t) return 'A name is required.'
  if (t.length > 100) return 'At most 100 characters.'
  if (/[\u0000-\u001f\u007f]/.test(t)) return 'No control characters.'
  return null
}

export async function createWorkspace(name: string): Promise<Workspace> {
  return api.post<Workspace>('/api/workspaces', { name: name.trim() })
}

/** Uploads an archive into a workspace with progress (0..1). */
export function importArchive(ws: string, file: File, onProgress: (f: number) => void, signal?: AbortSignal): Promise<ImportReport> {
  const type = /\.zip$/i.test(file.name) ? 'application/zip' : /\.(tar\.gz|tgz)$/i.test(file.name) ? 'application/gzip' : 'application/octet-stream'
  return api.upload<ImportReport>(`/api/workspaces/${ws}/import`, file, { contentType: type, onProgress: (l, t) => onProgress(t ? l / t : 0), signal })
}

export interface VMStatus {
  state: string
  phase?: string
  stop_reason?: string
  last_activity_at?: string | null
}

/** A workspace's VM state and start/stop, when the server runs the lifecycle (else nothing). */
function Lifecycle({ ws }: { ws: Workspace }) {
  const [st, setSt] = useState<VMStatus | null | 'absent'>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const load = () => api.get<VMStatus>(`/api/workspaces/${ws.id}/status`).then(setSt, (e) => setSt(e instanceof ApiError && e.status === 404 ? 'absent' : null))
  useEffect(() => { void load() }, [ws.id])
  if (st === 'absent' || st === null) return null
  const act = async (what: 'start' | 'stop') => {
    setBusy(what === 'start' ? 'Starting…' : 'Stopping…')
    try {
      const r = await api.post<{ phases?: { name: string; ms: number }[]; total_ms?: number }>(`/api/workspaces/${ws.id}/${what}`, {})
      if (what === 'start' && r?.phases?.length) notify('success', `${ws.name} is running: ${r.phases.map((p) => `${p.name} ${p.ms} ms`).join(', ')}.`)
      await load()
    } catch (err) {
      notify('error', `Could not ${what} ${ws.name}: ${message(err)}`)
    } finally {
      setBusy(null)
    }
  }
  const running = st.state === 'running' || st.state === 'starting'
  return (
    <span class="vm">
      <span class={`vm-state vm-${st.state}`} title={st.stop_reason ? `Last stop: ${st.stop_reason}` : ''}>{busy ?? (st.phase ? `${st.state} (${st.phase})` : st.state)}</span>
      <button type="button" class="small" disabled={!!busy} onClick={() => act(running ? 'stop' : 'start')} aria-label={`${running ? 'Stop' : 'Start'} ${ws.name}`}>{running ? 'Stop' : 'Start'}</button>
    </span>
  )
}

interface Upload {
  ws: string
  name: string
  progress: number
  phase: 'uploading' | 'unpacking'
  abort: AbortController
}

export function WorkspacesPage() {
  const [list, setList] = useState<Workspace[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [upload, setUpload] = useState<Upload | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const importInto = useRef<string | null>(null)

  const load = async () => {
    try {
      const r = await api.get<{ workspaces: Workspace[] }>('/api/workspaces')
      setList(r.workspaces ?? [])
      setError(null)
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) setError(message(err))
    }
  }
  useEffect(() => { void load() }, [])

  const create = async () => {
    const name = await promptDialog({ title: 'New workspace', label: 'Workspace name', value: 'my-project', confirmLabel: 'Create', validate: validateWorkspaceName })
    if (!name) return
    try {
      const ws = await createWorkspace(name)
      notify('success', `Workspace “${ws.name}” created.`)
      navigate(`/w/${ws.id}`)
    } catch (err) {
      notify('error', `Could not create the workspace: ${message(err)}`)
    }
  }

  const remove = async (ws: Workspace) => {
    if (!(await confirmDialog({ title: 'Delete workspace', message: `Delete “${ws.name}” with all its files? This cannot be undone.`, confirmLabel: 'Delete', danger: true }))) return
    try {
      await api.del(`/api/workspaces/${ws.id}`)
      notify('success', `Workspace “${ws.name}” deleted.`)
      await load()
    } catch (err) {
      notify('error', `Could not delete: ${message(err)}`)
    }
  }

  const pickArchive = (into: string | null) => {
    importInto.current = into
    fileInput.current!.value = ''
    fileInput.current!.click()
  }

  const onFile = async () => {
    const file = fileInput.current!.files?.[0]
    if (!file) return
    let wsId = importInto.current
    try {
      if (!wsId) {
        const base = file.name.replace(/\.(zip|tar\.gz|tgz|tar)$/i, '').slice(0, 100) || 'imported'
        wsId = (await createWorkspace(base)).id
      }
      const abort = new AbortController()
      setUpload({ ws: wsId, name: file.name, progress: 0, phase: 'uploading', abort })
      const rep = await importArchive(wsId, file, (p) => setUpload((u) => u && { ...u, progress: p, phase: p >= 1 ? 'unpacking' : 'uploading' }), abort.signal)
      notify('success', `Imported ${rep.imported} files (${formatBytes(rep.bytes)})${rep.skipped_total ? `, skipped ${rep.skipped_total}` : ''}. Indexing continues in the background.`)
      await load()
      navigate(`/w/${wsId}`)
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError') notify('error', `Import failed: ${message(err)}`)
      await load()
    } finally {
      setUpload(null)
    }
  }

  return (
    <div class="page">
      <TopBar />
      <main class="page-body" aria-labelledby="ws-title">
        <div class="page-head">
          <h1 id="ws-title">Workspaces</h1>
          <div class="row-actions">
            <button type="button" onClick={() => pickArchive(null)}>Import project…</button>
            <button type="button" class="primary" onClick={create}>New workspace</button>
          </div>
        </div>
        <input ref={fileInput} type="file" accept=".zip,.tar.gz,.tgz,.tar,application/zip,application/gzip" hidden aria-hidden="true" onChange={onFile} data-testid="import-input" />
        {upload && (
          <div class="upload" role="status" aria-live="polite">
            <div>{upload.phase === 'uploading' ? `Uploading ${upload.name}… ${Math.round(upload.progress * 100)}%` : `Unpacking ${upload.name}…`}</div>
            <progress max={1} value={upload.phase === 'uploading' ? upload.progress : undefined} aria-label="Import progress" />
            <button type="button" onClick={() => upload.abort.abort()}>Cancel</button>
          </div>
        )}
        {error && <p class="notice error" role="alert">{error} <button type="button" onClick={load}>Retry</button></p>}
        {list === null && !error && <p class="muted">Loading…</p>}
        {list && list.length === 0 && (
          <div class="empty">
            <p>No workspaces yet. Create one, or import a project from a .zip or .tar.gz archive.</p>
          </div>
        )}
        {list && list.length > 0 && (
          <ul class="ws-list" aria-label="Your workspaces">
            {list.map((ws) => (
              <li key={ws.id} class="ws-item">
                <a class="ws-name" href={`/w/${ws.id}`} onClick={(e) => { e.preventDefault(); navigate(`/w/${ws.id}`) }}>{ws.name}</a>
                <span class="muted">created {new Date(ws.created_at).toLocaleDateString()}</span>
                <Lifecycle ws={ws} />
                <div class="row-actions">
                  <button type="button" onClick={() => navigate(`/w/${ws.id}`)} aria-label={`Open ${ws.name}`}>Open</button>
                  <button type="button" onClick={() => pickArchive(ws.id)} aria-label={`Import an archive into ${ws.name}`}>Import…</button>
                  <button type="button" class="danger-ghost" onClick={() => remove(ws)} aria-label={`Delete ${ws.name}`}>Delete</button>
                </div>
              </li>
            ))}
          </ul>
        )}
      </main>
    </div>
  )
}
