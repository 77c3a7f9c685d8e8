// A Server-Sent Events parser (the WHATWG event-stream format) for responses read with fetch:
// EventSource cannot POST or send an Authorization header.

export interface SSEEvent {
  /** The event type; "message" when the stream names none. */
  event: string
  data: string
  id?: string
  retry?: number
}

/** Incremental parser: push decoded text as it arrives, get the complete events back. */
export class SSEParser {
  private buf = ''
  private data: string[] = []
  private event = ''
  private id: string | undefined
  private retry: number | undefined
  private pendingCR = false
  private started = false

  push(chunk: string): SSEEvent[] {
    if (!this.started) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    if (this.pendingCR && chunk.startsWith('\n')) chunk = chunk.slice(1) // \r\n split across chunks
    this.pendingCR = false
    this.buf += chunk
    const out: SSEEvent[] = []
    let start = 0
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      this.line(this.buf.slice(start, i), out)
      if (c === 13) {
        if (i + 1 < this.buf.length) {
          if (this.buf.charCodeAt(i + 1) === 10) i++
        } else this.pendingCR = true
      }
      start = i + 1
    }
    this.buf = this.buf.slice(start)
    return out
  }

  /** The stream ended: an unterminated final event is dropped, as the standard says. */
  end(): SSEEvent[] {
    this.buf = ''
    this.data = []
    this.event = ''
    return []
  }

  private line(line: string, out: SSEEvent[]) {
    if (line === '') {
      if (this.data.length > 0) {
        const ev: SSEEvent = { event: this.event || 'message', data: this.data.join('\n') }
        if (this.id !== undefined) ev.id = this.id
        if (this.retry !== undefined) ev.retry = this.retry
        out.push(ev)
      }
      this.data = []
      this.event = ''
      this.retry = undefined
      return
    }
    if (line.startsWith(':')) return // comment / keep-alive
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'data': this.data.push(value); break
      case 'event': this.event = value; break
      case 'id': if (!value.includes('\0')) this.id = value; break
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break
      default: break // unknown fields are ignored
    }
  }
}

/** Reads a fetch body as SSE events until it ends or the signal aborts. */
export async function* readSSE(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SSEEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const parser = new SSEParser()
  const onAbort = () => { reader.cancel().catch(() => {}) }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      if (signal?.aborted) return
      const { done, value } = await reader.read()
      if (done) {
        yield* parser.push(decoder.decode())
        yield* parser.end()
        return
      }
      yield* parser.push(decoder.decode(value, { stream: true }))
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    try { reader.releaseLock() } catch { /* a read was still pending after cancel */ }
  }
}
