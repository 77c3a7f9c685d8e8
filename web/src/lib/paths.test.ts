import { describe, expect, it } from 'vitest'
import { applyMoves, buildTree, fuzzyScore, isBinaryContent, planMove, validateName, visibleRows, type FileMeta } from './paths'

const f = (path: string): FileMeta => ({ path, size: 1, hash: 'h', language: 'plaintext', version: 1, modified_at: '' })

describe('buildTree', () => {
  it('nests files under folders, folders first, names case-insensitively', () => {
    const t = buildTree([f('b.txt'), f('src/main.go'), f('A.md'), f('src/util/x.go'), f('src/a.go')], ['empty'])
    expect(t.children.map((c) => c.name)).toEqual(['empty', 'src', 'A.md', 'b.txt'])
    const src = t.children[1]
    expect(src.children.map((c) => c.path)).toEqual(['src/util', 'src/a.go', 'src/main.go'])
    const rows = visibleRows(t, new Set(['src']))
    expect(rows.map((r) => `${r.depth}:${r.node.name}`)).toEqual(['0:empty', '0:src', '1:util', '1:a.go', '1:main.go', '0:A.md', '0:b.txt'])
  })
})

describe('validateName', () => {
  it('refuses what the API refuses', () => {
    expect(validateName('main.go')).toBeNull()
    expect(validateName('')).toMatch(/required/)
    expect(validateName('a/b')).toMatch(/\//)
    expect(validateName('a/b', true)).toBeNull()
    expect(validateName('..')).toMatch(/\.\./)
    expect(validateName('a//b', true)).toMatch(/empty/)
    expect(validateName('/abs', true)).toMatch(/relative/)
    expect(validateName('a\\b')).toMatch(/\\/)
    expect(validateName('bad\u0001')).toMatch(/control/)
    expect(validateName(' x')).toMatch(/spaces/)
  })
})

describe('planMove', () => {
  const paths = ['src/a.go', 'src/sub/b.go', 'README.md', 'docs/x.md']
  it('renames a file', () => {
    expect(planMove(paths, 'README.md', 'README2.md')).toEqual({ moves: [{ from: 'README.md', to: 'README2.md' }] })
  })
  it('moves a folder with everything in it', () => {
    expect(planMove(paths, 'src', 'lib/src').moves).toEqual([
      { from: 'src/a.go', to: 'lib/src/a.go' },
      { from: 'src/sub/b.go', to: 'lib/src/sub/b.go' },
    ])
  })
  it('refuses a folder into itself, overwrites and files in the way', () => {
    expect(planMove(paths, 'src', 'src/sub/src').error).toMatch(/itself/)
    expect(planMove(paths, 'docs/x.md', 'README.md').error).toMatch(/already exists/)
    expect(planMove(paths, 'docs/x.md', 'README.md/x.md').error).toMatch(/is a file/)
    expect(planMove(paths, 'a', 'a').error).toMatch(/same/)
  })
  it('open tabs follow moves', () => {
    const { moves } = planMove(paths, 'src', 'lib')
    expect(applyMoves('src/sub/b.go', moves)).toBe('lib/sub/b.go')
    expect(applyMoves('README.md', moves)).toBe('README.md')
  })
})

describe('fuzzyScore', () => {
  it('matches in order and prefers file names', () => {
    expect(fuzzyScore('mgo', 'src/main.go')).not.toBeNull()
    expect(fuzzyScore('xyz', 'src/main.go')).toBeNull()
    const a = fuzzyScore('main', 'src/main.go')!
    const b = fuzzyScore('main', 'domain/analysis.txt')!
    expect(a).toBeGreaterThan(b)
  })
})

describe('isBinaryContent', () => {
  it('detects NULs and invalid UTF-8', () => {
    expect(isBinaryContent(new TextEncoder().encode('héllo'))).toBe(false)
    expect(isBinaryContent(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1]))).toBe(true)
    expect(isBinaryContent(new Uint8Array([0xff, 0xfe, 0x41]))).toBe(true)
  })
})
