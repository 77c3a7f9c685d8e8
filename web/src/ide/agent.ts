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

/** The answer of POST /api/workspaces/{id}/start (shared/lifecycle.StartResult). */
export interface StartAnswer {
  status?: { state: string; phase?: string; agent_url?: string }
  started?: boolean
  /** The agent's base URL (http(s) or ws(s)); relative URLs are resolved against the page. */
  agent_url: string
  tickets: { terminal: string; collab: string; expires_at: string }
  phases?: { name: string; ms: number }[]
  total_ms?: number
}

export type Capability = 'terminal' | 'collab' | 'terminal:read' | 'collab:read'

export interface Agent {
  readonly state: Signal<AgentState>
  /** Starts (or resumes) the workspace and waits for its agent. */
  ensure(): Promise<string>
  /** A WebSocket URL for path on the agent, with a fresh ticket for the capability. */
  socketURL(path: string, cap: Capability): Promise<string>
  /** The agent's WebSocket base URL once started. */
  freshTicket(cap: Capability): Promise<string>
}

function toWs(u: string): string {
  const url = new URL(u, location.href)
  if (url.protocol === 'http:') url.protocol = 'ws:'
  if (url.protocol === 'https:') url.protocol = 'wss:'
  return url.toString().replace(/\/$/, '')
}

export class ControlPlaneAgent implements Agent {
  readonly state = new Signal<AgentState>({ kind: 'idle' })
  /** The phases of the last start (provisioning, booting, agent ready) with their times. */
  readonly phases = new Signal<{ name: string; ms: number }[]>([])
  private starting: Promise<StartAnswer> | null = null
  private last: { answer: StartAnswer; expires: number } | null = null

  constructor(private api: ApiClient, private ws: string) {}

  async ensure(): Promise<string> {
    const s = this.state.value
    if (s.kind === 'ready') return s.url
    return toWs((await this.startOnce()).agent_url)
  }

  /** One start at a time; the answer also carries fresh tickets. */
  private startOnce(): Promise<StartAnswer> {
    if (!this.starting) this.starting = this.start().finally(() => { this.starting = null })
    return this.starting
  }

  private async start(): Promise<StartAnswer> {
    if (this.state.value.kind !== 'ready') this.state.value = { kind: 'starting', phase: 'Starting the workspace…' }
    try {
      const a = await this.api.post<StartAnswer>(`/api/workspaces/${this.ws}/start`, {})
      if (!a?.agent_url) throw new ApiError(502, 'internal', 'The workspace started but did not say where its agent is.')
      const exp = Date.parse(a.tickets?.expires_at ?? '')
      this.last = { answer: a, expires: Number.isFinite(exp) ? exp : Date.now() + 60_000 }
      this.phases.value = a.phases ?? []
      this.state.value = { kind: 'ready', url: toWs(a.agent_url) }
      return a
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) {
        this.state.value = { kind: 'unavailable', reason: 'Terminals and live collaboration need the workspace agent, which this server does not run.' }
      } else {
        this.state.value = { kind: 'error', reason: `The workspace could not start: ${err instanceof Error ? err.message : String(err)}` }
      }
      throw err
    }
  }

  private async ticket(cap: Capability): Promise<string> {
    if (!this.last || Date.now() > this.last.expires - 15_000) await this.startOnce()
    const t = this.last!.answer.tickets
    return cap.startsWith('terminal') ? t.terminal : t.collab
  }

  async socketURL(path: string, cap: Capability): Promise<string> {
    const base = await this.ensure()
    const t = await this.ticket(cap)
    const sep = path.includes('?') ? '&' : '?'
    return `${base}${path}${sep}ticket=${encodeURIComponent(t)}`
  }

  /** A fresh ticket for cap (y-websocket keeps its URL parameters across reconnects). */
  freshTicket(cap: Capability): Promise<string> {
    return this.ticket(cap)
  }

  /** Forget the agent (it stopped or moved): the next ensure() starts the workspace again. */
  reset() {
    this.state.value = { kind: 'idle' }
    this.last = null
  }
}
