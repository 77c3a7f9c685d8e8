// Live collaboration on one file: a Y.Doc synced through the agent's /collab/{path}
// (the y-websocket protocol), bound to the file's Monaco model with y-monaco, and awareness
// for remote cursors and selections with names and colours. The state shown to the user is
// synced, offline, or "unsynced changes" (edits made while disconnected, merged on reconnect).
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { MonacoBinding } from 'y-monaco'
import { colorFor, cursorCSS, roomFor, safeColor } from '../lib/presence'
import { Signal } from '../lib/signal'
import type { Agent } from './agent'
import type { monaco } from './monaco'

export type CollabStatus = 'connecting' | 'synced' | 'offline' | 'unsynced'

export interface Peer {
  clientId: number
  name: string
  color: string
  self: boolean
}

let styleEl: HTMLStyleElement | null = null
const styled = new Map<number, string>()

/** Colours and labels remote cursors (one style element, rebuilt when someone changes). */
function styleFor(clientId: number, name: string, color: string) {
  const css = cursorCSS(clientId, name, color)
  if (styled.get(clientId) === css) return
  styled.set(clientId, css)
  if (!styleEl) {
    styleEl = document.createElement('style')
    styleEl.dataset.vibecode = 'collab'
    document.head.appendChild(styleEl)
  }
  styleEl.textContent = [...styled.values()].join('\n')
}

export class CollabSession {
  readonly doc = new Y.Doc()
  readonly text = this.doc.getText('content')
  readonly status = new Signal<CollabStatus>('connecting')
  readonly peers = new Signal<Peer[]>([])
  private provider: WebsocketProvider | null = null
  private binding: MonacoBinding | null = null
  private bound = false
  /** Why live collaboration is off for this file (the session is then disposed). */
  failure: string | null = null
  /** A local edit reached the shared document since the last save to the API. */
  localEdits = false
  private unsynced = false
  private disposed = false

  constructor(
    private agent: Agent,
    readonly path: string,
    private model: monaco.editor.ITextModel,
    private editor: monaco.editor.IStandaloneCodeEditor,
    private user: { id: string; name: string },
    /** Called once the model shows the shared document (its content may have changed). */
    private onBound: () => void,
    /** Called when the file cannot be a shared document; the editor stays on the files API. */
    private onFail: (reason: string) => void,
  ) {}

  async start() {
    const base = await this.agent.ensure()
    const ticket = await this.agent.freshTicket('collab')
    if (this.disposed) return
    const p = new WebsocketProvider(`${base}/collab`, roomFor(this.path), this.doc, { params: { ticket }, maxBackoffTime: 5000 })
    this.provider = p
    p.awareness.setLocalStateField('user', { id: this.user.id, name: this.user.name, color: colorFor(this.user.id) })
    p.on('status', ({ status }: { status: string }) => {
      if (status === 'connected') this.update()
      else if (status === 'disconnected') this.update()
    })
    p.on('sync', (synced: boolean) => {
      if (synced) {
        this.unsynced = false
        if (!this.bound) this.bind()
      }
      this.update()
    })
    // A new ticket for every reconnect: y-websocket reads its params when it connects.
    p.on('connection-close', (e: CloseEvent | null) => {
      const code = e?.code ?? 0
      if (code === 4415 || code === 4413 || code === 4400 || code === 4404) {
        this.fail(code === 4415 ? 'This file cannot be edited live (not a text file on the workspace disk, or too large).' : `The agent refused the document (${code}).`)
        return
      }
      void this.agent.freshTicket('collab').then((t) => { p.params.ticket = t }, () => {})
    })
    this.doc.on('update', (_u: Uint8Array, origin: unknown) => {
      if (origin !== p) {
        if (this.binding && origin === this.binding) this.localEdits = true
        if (!p.wsconnected) {
          this.unsynced = true
          this.update()
        }
      }
    })
    p.awareness.on('change', () => this.updatePeers())
  }

  private fail(reason: string) {
    if (this.disposed) return
    this.failure = reason
    this.dispose()
    this.onFail(reason)
  }

  private bind() {
    // The hub seeds a document from the file on the workspace disk; a client never seeds it
    // (docs/protocols.md). A document that is empty while the editor holds the file's text
    // from the API means the file is not on the workspace disk (yet): binding would blank the
    // editor, so this file stays on the files API (saved with If-Match) instead.
    if (this.text.length === 0 && this.model.getValueLength() > 0) {
      this.fail('This file is not on the workspace disk yet, so it is edited without live collaboration.')
      return
    }
    this.binding = new MonacoBinding(this.text, this.model, new Set([this.editor]), this.provider!.awareness)
    this.bound = true
    this.onBound()
  }

  private update() {
    const p = this.provider
    if (!p) return
    this.status.value = p.wsconnected && p.synced ? 'synced' : this.unsynced ? 'unsynced' : p.wsconnected ? 'connecting' : 'offline'
  }

  private updatePeers() {
    const p = this.provider
    if (!p) return
    const out: Peer[] = []
    p.awareness.getStates().forEach((st, clientId) => {
      const u = st.user as { name?: string; color?: string } | undefined
      if (!u?.name) return
      const color = safeColor(u.color, String(clientId))
      if (clientId !== this.doc.clientID) styleFor(clientId, u.name, color)
      out.push({ clientId, name: u.name, color, self: clientId === this.doc.clientID })
    })
    this.peers.value = out
  }

  dispose() {
    this.disposed = true
    this.binding?.destroy()
    this.provider?.awareness.setLocalState(null)
    this.provider?.destroy()
    this.doc.destroy()
  }
}
