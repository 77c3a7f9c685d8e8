// The agent's terminal framing (docs/protocols.md; workspace-vm/terminal/protocol.go): binary
// WebSocket messages of one opcode byte and a payload.

export const C = { input: 0x00, resize: 0x01, pause: 0x02, resume: 0x03, ack: 0x04 } as const
export const S = { output: 0x00, exit: 0x01, hello: 0x02, replay: 0x03, size: 0x04 } as const
export const REPLAY_BEGIN = 0x00
export const REPLAY_END = 0x01

/** Close codes that say what to do next. */
export const CLOSE = {
  badFrame: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  exited: 4410,
  internal: 4500,
  shuttingDown: 4503,
} as const

export interface Hello {
  protocol: number
  session: string
  cols: number
  rows: number
  readOnly: boolean
  created: boolean
  restored: boolean
  exited: boolean
  exitCode?: number
  clients: number
  maxFrame: number
  window: number
}

export type Frame =
  | { type: 'output'; data: Uint8Array }
  | { type: 'exit'; code: number }
  | { type: 'hello'; hello: Hello }
  | { type: 'replay'; begin: boolean }
  | { type: 'size'; cols: number; rows: number }
  | { type: 'unknown'; op: number }

const enc = new TextEncoder()

/** Input frames: text is UTF-8 encoded and split to fit maxFrame (opcode included). */
export function inputFrames(data: string | Uint8Array, maxFrame = 65536): Uint8Array[] {
  const bytes = typeof data === 'string' ? enc.encode(data) : data
  const room = Math.max(1, maxFrame - 1)
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.length; i += room) {
    const chunk = bytes.subarray(i, Math.min(i + room, bytes.length))
    const f = new Uint8Array(chunk.length + 1)
    f[0] = C.input
    f.set(chunk, 1)
    out.push(f)
  }
  return out
}

function u16(op: number, a: number, b: number): Uint8Array {
  const f = new Uint8Array(5)
  const v = new DataView(f.buffer)
  f[0] = op
  v.setUint16(1, Math.max(0, Math.min(0xffff, a | 0)))
  v.setUint16(3, Math.max(0, Math.min(0xffff, b | 0)))
  return f
}

export function resizeFrame(cols: number, rows: number): Uint8Array {
  return u16(C.resize, cols, rows)
}

export function ackFrame(n: number): Uint8Array {
  const f = new Uint8Array(5)
  f[0] = C.ack
  new DataView(f.buffer).setUint32(1, Math.max(0, Math.min(0xffffffff, n)) >>> 0)
  return f
}

export function pauseFrame(): Uint8Array {
  return new Uint8Array([C.pause])
}

export function resumeFrame(): Uint8Array {
  return new Uint8Array([C.resume])
}

export function decode(msg: ArrayBuffer | Uint8Array): Frame {
  const b = msg instanceof Uint8Array ? msg : new Uint8Array(msg)
  if (b.length === 0) return { type: 'unknown', op: -1 }
  const payload = b.subarray(1)
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  switch (b[0]) {
    case S.output: return { type: 'output', data: payload }
    case S.exit: return b.length >= 5 ? { type: 'exit', code: v.getInt32(1) } : { type: 'unknown', op: b[0] }
    case S.hello:
      try {
        return { type: 'hello', hello: JSON.parse(new TextDecoder().decode(payload)) }
      } catch {
        return { type: 'unknown', op: b[0] }
      }
    case S.replay: return { type: 'replay', begin: payload[0] === REPLAY_BEGIN }
    case S.size: return b.length >= 5 ? { type: 'size', cols: v.getUint16(1), rows: v.getUint16(3) } : { type: 'unknown', op: b[0] }
    default: return { type: 'unknown', op: b[0] }
  }
}

/** Whether a close code means "connect again" (with backoff) rather than "give up". */
export function shouldReconnect(code: number): boolean {
  return !(code === CLOSE.badFrame || code === CLOSE.forbidden || code === CLOSE.exited || code === 1000)
}
