import { describe, expect, it } from 'vitest'
import { colorFor, cssString, cursorCSS, roomFor, safeColor } from './presence'

describe('presence helpers', () => {
  it('gives each user a stable colour', () => {
    expect(colorFor('alice')).toBe(colorFor('alice'))
    expect(colorFor('alice')).toMatch(/^#[0-9a-f]{6}$/)
  })

  it('escapes names into CSS strings', () => {
    expect(cssString('Ada "the first" \\ Lovelace\n</style>')).toBe('"Ada \\"the first\\" \\\\ Lovelace /style"')
    expect(cursorCSS(42, 'Bob', '#112233')).toContain('.yRemoteSelectionHead-42::after{content:"Bob";background-color:#112233}')
  })

  it('refuses colours that are not #rrggbb', () => {
    expect(safeColor('red;}body{display:none', 'x')).toBe(colorFor('x'))
    expect(safeColor('#A0b1C2', 'x')).toBe('#A0b1C2')
  })

  it('names documents by their escaped path', () => {
    expect(roomFor('src/app/main.go')).toBe('src/app/main.go')
    expect(roomFor('docs/café menu.md')).toBe('docs/caf%C3%A9%20menu.md')
  })
})
