import { describe, expect, it } from 'vitest'
import { ackFrame, decode, inputFrames, resizeFrame, shouldReconnect } from './termproto'

describe('terminal framing', () => {
  it('encodes input, split to the frame limit', () => {
    expect([...inputFrames('ls\r')[0]]).toEqual([0, 0x6c, 0x73, 0x0d])
    const fs = inputFrames('x'.repeat(10), 4)
    expect(fs.map((f) => f.length)).toEqual([4, 4, 4, 2])
    expect(fs.every((f) => f[0] === 0)).toBe(true)
    expect(inputFrames('')).toEqual([])
  })

  it('encodes resize and ack big-endian', () => {
    expect([...resizeFrame(120, 40)]).toEqual([1, 0, 120, 0, 40])
    expect([...resizeFrame(-5, 70000)]).toEqual([1, 0, 0, 0xff, 0xff])
    expect([...ackFrame(65536)]).toEqual([4, 0, 1, 0, 0])
  })

  it('decodes agent frames', () => {
    expect(decode(new Uint8Array([0, 104, 105]))).toEqual({ type: 'output', data: new Uint8Array([104, 105]) })
    expect(decode(new Uint8Array([1, 0xff, 0xff, 0xff, 0xfe]))).toEqual({ type: 'exit', code: -2 })
    expect(decode(new Uint8Array([1, 0, 0, 0, 130]))).toEqual({ type: 'exit', code: 130 })
    const hello = new TextEncoder().encode('{"protocol":1,"session":"abc","cols":80,"rows":24}')
    const h = decode(new Uint8Array([2, ...hello]))
    expect(h.type === 'hello' && h.hello.session).toBe('abc')
    expect(decode(new Uint8Array([3, 0]))).toEqual({ type: 'replay', begin: true })
    expect(decode(new Uint8Array([3, 1]))).toEqual({ type: 'replay', begin: false })
    expect(decode(new Uint8Array([4, 0, 80, 0, 24]))).toEqual({ type: 'size', cols: 80, rows: 24 })
    expect(decode(new Uint8Array([9]))).toEqual({ type: 'unknown', op: 9 })
  })

  it('knows which closes to retry', () => {
    expect(shouldReconnect(1006)).toBe(true)
    expect(shouldReconnect(4503)).toBe(true)
    expect(shouldReconnect(4410)).toBe(false)
    expect(shouldReconnect(4400)).toBe(false)
  })
})
