import { describe, expect, it } from 'vitest'
import { citationsIn, parseCitations, splitBlocks } from './citations'

describe('parseCitations', () => {
  it('finds [path:start-end] and [path:line]', () => {
    const segs = parseCitations('See [src/auth/login.go:12-30] and [README.md:4].')
    expect(segs).toEqual([
      { kind: 'text', text: 'See ' },
      { kind: 'cite', text: '[src/auth/login.go:12-30]', cite: { path: 'src/auth/login.go', start: 12, end: 30 } },
      { kind: 'text', text: ' and ' },
      { kind: 'cite', text: '[README.md:4]', cite: { path: 'README.md', start: 4, end: 4 } },
      { kind: 'text', text: '.' },
    ])
  })

  it('accepts an en dash, spaces around the dash and a leading ./', () => {
    expect(citationsIn('[./a/b.ts:3 – 9]')).toEqual([{ path: 'a/b.ts', start: 3, end: 9 }])
  })

  it('ignores non-citations: markdown links, arrays, reversed ranges', () => {
    expect(citationsIn('[link](http://x) [1, 2] arr[i:3] [a.go:9-3] [x:0]')).toEqual([])
    expect(parseCitations('no citations here')).toEqual([{ kind: 'text', text: 'no citations here' }])
  })

  it('dedupes citations in order', () => {
    expect(citationsIn('[a.go:1-2] [b.go:3] [a.go:1-2]')).toEqual([
      { path: 'a.go', start: 1, end: 2 },
      { path: 'b.go', start: 3, end: 3 },
    ])
  })
})

describe('splitBlocks', () => {
  it('separates prose and fenced code', () => {
    const md = 'Here:\n```go\nfunc main() {}\n```\nDone.'
    expect(splitBlocks(md)).toEqual([
      { kind: 'text', text: 'Here:' },
      { kind: 'code', lang: 'go', code: 'func main() {}', closed: true },
      { kind: 'text', text: 'Done.' },
    ])
  })

  it('keeps a fence still open while streaming', () => {
    expect(splitBlocks('```ts\nconst a = 1')).toEqual([{ kind: 'code', lang: 'ts', code: 'const a = 1', closed: false }])
  })

  it('does not close a ```` fence with ```', () => {
    const b = splitBlocks('````md\n```js\nx\n```\n````')
    expect(b).toEqual([{ kind: 'code', lang: 'md', code: '```js\nx\n```', closed: true }])
  })
})
