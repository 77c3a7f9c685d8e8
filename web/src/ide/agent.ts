// The workspace agent behind one small interface: the control plane starts the workspace and
// returns where its agent listens, and short-lived tickets authorize each WebSocket
// (terminals, collaboration). The IDE's terminal and collaboration code only calls this.
//
// Wire details (the start answer, ticket query parameter, paths) follow docs/protocols.md and
// the lifecycle routes; until the server has them (POST …/start answers 404), the agent is
// "unavailable" and the terminal and collaboration UI say so.
import type { ApiClient } from '../lib/api'
import { ApiError } from '../lib/api'
import { Signal } from '../lib/signal'

export type AgentState =
  | { kind: 'idle' }
  | { kind: 'starting'; phase: string }
  | { kind: 'ready'; url: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'error'; reason: string }

export interface StartAnswer {
  /** The agent's base URL (http(s) or ws(s)); relative URLs are resolved against the page. */
  agent_url?: string
  url?: string
  state?: string
  phases?: { name: string; ms?: number; duration_ms?: number }[]
  tickets?: Record<string, string>
  ticket?: string
}

export type Capability = 'terminal' | 'collab' | 'terminal:read' | 'collab:read'

export interface Agent {
  readonly state: Signal<AgentState>
  /** Starts (or resumes) the workspace and waits for its agent. */
  ensure(): Promise<string>
  /** A WebSocket URL for path on the agent, with a fresh ticket for the capability. */
  socketURL(path: string, cap: Capability): Promise<string>
}

function toWs(u: string): string {
  const url = new URL(u, location.href)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  if (url.protocol === 'https:') url.protocol = 'wss:'
  return url.toString().replace(/\/$/, '')
}

export class ControlPlaneAgent implements Agent {
  readonly state = new Signal<AgentState>({ kind: 'idle' })
  private starting: Promise<string> | null = null
  private tickets: Record<string, { ticket: string; at: number }> = {}

  constructor(private api: ApiClient, private ws: string) {}

  ensure(): Promise<string> {
    const s = this.state.value
    if (s.kind === 'ready') return Promise.resolve(s.url)
    if (!this.starting) {
      this.starting = this.start().finally(() => { this.starting = null })
    }
    return this.starting
  }

  private async start(): Promise<string> {
    this.state.value = { kind: 'starting', phase: 'Starting the workspace…' }
    try {
      const a = await this.api.post<StartAnswer>(`/api/workspaces/${this.ws}/start`, {})
      const base = a.agent_url ?? a.url
      if (!base) throw new ApiError(502, 'internal', 'The workspace started but did not say where its agent is.')
      for (const [cap, t] of Object.entries(a.tickets ?? {})) this.tickets[cap] = { ticket: t, at: Date.now() }
      if (a.ticket) this.tickets['*'] = { ticket: a.ticket, at: Date.now() }
      const url = toWs(base)
      this.state.value = { kind: 'ready', url }
      return url
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) {
        this.state.value = { kind: 'unavailable', reason: 'Terminals and live collaboration need the workspace agent, which this server does not run yet.' }
      } else {
        this.state.value = { kind: 'error', reason: err instanceof Error ? err.message : String(err) }
      }
      throw err
    }
  }

  private async ticket(cap: Capability): Promise<string> {
    const cached = this.tickets[cap] ?? this.tickets['*']
    if (cached && Date.now() - cached.at < 20_000) {
      delete this.tickets[cap]
      return cached.ticket
    }
    const r = await this.api.post<{ ticket: string }>(`/api/workspaces/${this.ws}/tickets`, { capability: cap })
    return r.ticket
  }

  async socketURL(path: string, cap: Capability): Promise<string> {
    const base = await this.ensure()
    const t = await this.ticket(cap)
    const sep = path.includes('?') ? '&' : '?'
    return `${base}${path}${sep}ticket=${encodeURIComponent(t)}`
  }

  /** Forget the agent (it stopped or moved): the next ensure() starts the workspace again. */
  reset() {
    this.state.value = { kind: 'idle' }
  }
}
