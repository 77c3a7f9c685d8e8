// Light, dark or the system's theme, applied to <html data-theme> (CSS variables) and
// announced to the editor. Remembered per user and, to avoid a flash, as the last used.
import { Signal } from './signal'
import type { ThemeChoice } from './onboarding'

export type Effective = 'light' | 'dark'

const LAST = 'vibecode.theme'
const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null

export const themeChoice = new Signal<ThemeChoice>(readChoice(LAST) ?? 'system')
export const effectiveTheme = new Signal<Effective>(resolve(themeChoice.value))

function readChoice(key: string): ThemeChoice | null {
  try {
    const v = localStorage.getItem(key)
    return v === 'light' || v === 'dark' || v === 'system' ? v : null
  } catch {
    return null
  }
}

export function resolve(c: ThemeChoice): Effective {
  if (c === 'system') return media?.matches ? 'dark' : 'light'
  return c
}

function apply() {
  effectiveTheme.value = resolve(themeChoice.value)
  document.documentElement.dataset.theme = effectiveTheme.value
  document.documentElement.style.colorScheme = effectiveTheme.value
}

export function setTheme(c: ThemeChoice, userId?: string) {
  themeChoice.value = c
  try {
    localStorage.setItem(LAST, c)
    if (userId) localStorage.setItem(`${LAST}.${userId}`, c)
  } catch { /* not remembered */ }
  apply()
}

/** Loads the user's own theme after login. */
export function loadUserTheme(userId: string) {
  const c = readChoice(`${LAST}.${userId}`)
  if (c) setTheme(c, userId)
}

media?.addEventListener('change', apply)
apply()
