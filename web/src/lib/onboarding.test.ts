import { describe, expect, it } from 'vitest'
import { STEPS, initialState, loadState, needsOnboarding, progress, reduce, saveState } from './onboarding'

describe('onboarding state machine', () => {
  it('walks the seven steps, recording answers and skips', () => {
    let s = initialState()
    expect(STEPS).toHaveLength(7)
    expect(needsOnboarding(s)).toBe(true)
    s = reduce(s, { type: 'next', answers: { theme: 'dark' } })
    expect(s.step).toBe(1)
    s = reduce(s, { type: 'skip' })
    expect(s.status.workspace).toBe('skipped')
    s = reduce(s, { type: 'back' })
    expect(s.step).toBe(1)
    s = reduce(s, { type: 'next', answers: { workspaceId: 'w1' } })
    expect(s.status.workspace).toBe('done')
    for (let i = 0; i < 4; i++) s = reduce(s, { type: 'next' })
    expect(STEPS[s.step]).toBe('done')
    expect(s.finished).toBe(false)
    s = reduce(s, { type: 'next' })
    expect(s.finished).toBe(true)
    expect(needsOnboarding(s)).toBe(false)
    expect(s.answers).toMatchObject({ theme: 'dark', workspaceId: 'w1' })
    expect(progress(s)).toEqual({ done: 7, skipped: 0, total: 7 })
  })

  it('can be dismissed at any step and restarted keeping the answers', () => {
    let s = reduce(initialState(), { type: 'next', answers: { theme: 'light' } })
    s = reduce(s, { type: 'dismiss' })
    expect(s.finished && s.dismissed).toBe(true)
    s = reduce(s, { type: 'restart' })
    expect(s.step).toBe(0)
    expect(s.finished).toBe(false)
    expect(s.answers.theme).toBe('light')
  })

  it('does not go back before the first step or past the last', () => {
    const s = initialState()
    expect(reduce(s, { type: 'back' })).toBe(s)
    expect(reduce(s, { type: 'goto', step: 99 })).toBe(s)
  })

  it('resumes per user from storage', () => {
    const m = new Map<string, string>()
    const kv = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) }
    let s = reduce(initialState(), { type: 'next' })
    s = reduce(s, { type: 'skip' })
    saveState(kv, 'alice', s)
    expect(loadState(kv, 'alice')?.step).toBe(2)
    expect(loadState(kv, 'bob')).toBeNull()
    m.set('vibecode.onboarding.carol', 'garbage')
    expect(loadState(kv, 'carol')).toBeNull()
  })
})
