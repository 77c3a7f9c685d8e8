// One terminal tab's connection to the agent: the binary framing of lib/termproto, credit flow
// control (acks once xterm has drawn the output), resize, and reconnects with the same session
// id so the shell and its scrollback come back (the agent replays it; the terminal resets at
// the replay's start so nothing is drawn twice).
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import { Signal } from '../lib/signal'
import { ackFrame, CLOSE, decode, inputFrames, resizeFrame, shouldReconnect, type Hello } from '../lib/termproto'
import type { Agent } from './agent'

export type TermStatus = 'connecting' | 'connected' | 'reconnecting' | 'exited' | 'closed' | 'error'

export class TerminalTab {
  readonly term: Terminal
  readonly fit = new FitAddon()
  readonly status = new Signal<TermStatus>('connecting')
  readonly detail = new Signal<string>('')
  /** The agent's session id: assigned by the agent on the first connection ("new"). */
  session: string
  private ws: WebSocket | null = null
  private hello: Hello | null = null
  private unacked = 0
  private backoff = 500
  private timer: ReturnType<typeof setTimeout> | null = null
  private disposed = false
  private quietResize = false

  constructor(private agent: Agent, session: string, readonly title: string, theme: 'light' | 'dark') {
    this.session = session
    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 5000,
      allowProposedApi: false,
      theme: termTheme(theme),
    })
    this.term.loadAddon(this.fit)
    this.term.onData((d) => this.send(d))
    this.term.onBinary((d) => this.send(Uint8Array.from(d, (c) => c.charCodeAt(0))))
    this.term.onResize(({ cols, rows }) => { if (!this.quietResize) this.sendRaw(resizeFrame(cols, rows)) })
  }

  setTheme(theme: 'light' | 'dark') {
    this.term.options.theme = termTheme(theme)
  }

  async connect() {
    if (this.disposed) return
    this.status.value = this.hello ? 'reconnecting' : 'connecting'
    let url: string
    try {
      // A new shell starts at the panel's size (when it can be measured yet).
      const dims = this.fit.proposeDimensions()
      const size = dims && dims.cols > 0 && dims.rows > 0 ? `?cols=${dims.cols}&rows=${dims.rows}` : ''
      url = await this.agent.socketURL(`/terminals/${encodeURIComponent(this.session)}${size}`, 'terminal')
    } catch (err) {
      this.status.value = 'error'
      this.detail.value = err instanceof Error ? err.message : String(err)
      return
    }
    const ws = new WebSocket(url)
    ws.binaryType = 'arraybuffer'
    this.ws = ws
    ws.onopen = () => {
      this.backoff = 500
      this.unacked = 0
      ws.send(ackFrame(0)) // opt in to credit-based flow control
      // No resize yet: xterm's size is its default until fitted, and a wrong size makes the
      // shell redraw its prompt over earlier output. The size is sent after the replay.
    }
    ws.onmessage = (e) => this.onFrame(e.data as ArrayBuffer)
    ws.onclose = (e) => {
      if (this.ws !== ws) return
      this.ws = null
      if (this.disposed) return
      if (e.code === CLOSE.exited) {
        this.status.value = 'exited'
        return
      }
      if (!shouldReconnect(e.code)) {
        this.status.value = 'closed'
        this.detail.value = e.reason || `closed (${e.code})`
        return
      }
      this.status.value = 'reconnecting'
      this.detail.value = e.code === CLOSE.shuttingDown ? 'The workspace is stopping; reconnecting…' : 'Connection lost; reconnecting…'
      this.timer = setTimeout(() => void this.connect(), this.backoff)
      this.backoff = Math.min(this.backoff * 2, 10_000)
    }
  }

  private onFrame(data: ArrayBuffer) {
    const f = decode(data)
    switch (f.type) {
      case 'hello':
        this.hello = f.hello
        // Draw the replay at the size it was produced at (a wrapped line replayed at another
        // width overwrites its neighbours); the terminal is fitted to its panel afterwards.
        if (f.hello.cols > 0 && f.hello.rows > 0 && (f.hello.cols !== this.term.cols || f.hello.rows !== this.term.rows)) {
          this.quietResize = true
          this.term.resize(f.hello.cols, f.hello.rows)
          this.quietResize = false
        }
        this.session = f.hello.session || this.session
        this.status.value = f.hello.exited ? 'exited' : 'connected'
        this.detail.value = f.hello.restored ? 'Restored after a restart' : f.hello.readOnly ? 'Read only' : ''
        // A viewer sends no input (nor xterm's automatic query answers): the agent would close it.
        this.term.options.disableStdin = f.hello.readOnly
        break
      case 'replay':
        if (f.begin) {
          // Reset through the parser (RIS), in order with the output already queued: a
          // synchronous reset() would run before earlier writes are drawn.
          this.term.write('\x1bc')
        } else {
          // Once the replay is drawn, fit to the panel (xterm reflows; a changed size reaches
          // the agent through onResize).
          this.term.write('', () => {
            try {
              const d = this.fit.proposeDimensions()
              if (d && d.cols > 0 && d.rows > 0) this.fit.fit()
            } catch { /* not visible yet: fitted when shown */ }
          })
        }
        break
      case 'output': {
        const n = f.data.length
        this.term.write(f.data, () => {
          this.unacked += n
          if (this.unacked >= 16384) {
            this.sendRaw(ackFrame(this.unacked))
            this.unacked = 0
          }
        })
        break
      }
      case 'exit':
        this.status.value = 'exited'
        this.detail.value = `exited with code ${f.code}`
        this.term.write(`\r\n\x1b[2m[process exited with code ${f.code}]\x1b[0m\r\n`)
        break
      default:
        break
    }
  }

  private sendRaw(b: Uint8Array) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(b)
  }

  send(data: string | Uint8Array) {
    if (this.hello?.readOnly) return
    for (const f of inputFrames(data, this.hello?.maxFrame || 65536)) this.sendRaw(f)
  }

  /** Drops the connection (the shell keeps running on the agent for its grace period). */
  detach() {
    this.disposed = true
    if (this.timer) clearTimeout(this.timer)
    this.ws?.close(1000, 'tab closed')
    this.ws = null
  }

  dispose() {
    this.detach()
    this.term.dispose()
  }
}

function termTheme(theme: 'light' | 'dark') {
  return theme === 'dark'
    ? { background: '#1e1e1e', foreground: '#d4d4d4', cursor: '#d4d4d4', selectionBackground: '#264f78' }
    : { background: '#ffffff', foreground: '#1f2328', cursor: '#1f2328', selectionBackground: '#add6ff' }
}
