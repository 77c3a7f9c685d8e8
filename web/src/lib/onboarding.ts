// The seed's 7-step onboarding for a new user, as a small state machine: each step can be
// completed (with its answers) or skipped, the whole flow can be dismissed, and it resumes at
// the step the user left. Stored per user in localStorage (keyed by user id) for now; the API
// has no per-user preferences yet.

export const STEPS = ['theme', 'workspace', 'extensions', 'ai', 'integrations', 'cli', 'done'] as const
export type Step = (typeof STEPS)[number]

export const STEP_TITLES: Record<Step, string> = {
  theme: 'Choose a theme',
  workspace: 'Set up a workspace',
  extensions: 'Extensions and languages',
  ai: 'AI provider',
  integrations: 'Integrations',
  cli: 'Command-line tools',
  done: 'All set',
}

export type ThemeChoice = 'light' | 'dark' | 'system'

export interface Answers {
  theme?: ThemeChoice
  /** The workspace created or chosen during onboarding. */
  workspaceId?: string
  workspaceName?: string
  languages?: string[]
  extensions?: string[]
  aiProvider?: string
  integrations?: string[]
  cliTools?: string[]
}

export interface OnboardingState {
  version: 1
  step: number
  /** Per step: done (answered), skipped, or not visited. */
  status: Partial<Record<Step, 'done' | 'skipped'>>
  answers: Answers
  /** The flow is over: finished, or dismissed with "skip setup". */
  finished: boolean
  dismissed: boolean
  updatedAt: string
}

export type Action =
  | { type: 'next'; answers?: Answers }
  | { type: 'back' }
  | { type: 'skip' }
  | { type: 'goto'; step: number }
  | { type: 'dismiss' }
  | { type: 'finish' }
  | { type: 'restart' }

export function initialState(now = new Date()): OnboardingState {
  return { version: 1, step: 0, status: {}, answers: {}, finished: false, dismissed: false, updatedAt: now.toISOString() }
}

const last = STEPS.length - 1

export function reduce(s: OnboardingState, a: Action, now = new Date()): OnboardingState {
  const step = STEPS[s.step]
  const at = now.toISOString()
  switch (a.type) {
    case 'next': {
      const status = { ...s.status, [step]: 'done' as const }
      const answers = { ...s.answers, ...(a.answers ?? {}) }
      if (s.step >= last) return { ...s, status, answers, finished: true, updatedAt: at }
      return { ...s, status, answers, step: s.step + 1, updatedAt: at }
    }
    case 'skip': {
      if (s.step >= last) return { ...s, finished: true, updatedAt: at }
      const status = s.status[step] === 'done' ? s.status : { ...s.status, [step]: 'skipped' as const }
      return { ...s, status, step: s.step + 1, updatedAt: at }
    }
    case 'back':
      return s.step > 0 ? { ...s, step: s.step - 1, updatedAt: at } : s
    case 'goto':
      return a.step >= 0 && a.step <= last ? { ...s, step: a.step, updatedAt: at } : s
    case 'dismiss':
      return { ...s, finished: true, dismissed: true, updatedAt: at }
    case 'finish':
      return { ...s, status: { ...s.status, done: 'done' }, step: last, finished: true, updatedAt: at }
    case 'restart':
      return { ...initialState(now), answers: s.answers }
  }
}

export function needsOnboarding(s: OnboardingState | null): boolean {
  return !s || !s.finished
}

export function progress(s: OnboardingState): { done: number; skipped: number; total: number } {
  let done = 0
  let skipped = 0
  for (const k of STEPS) {
    if (s.status[k] === 'done') done++
    else if (s.status[k] === 'skipped') skipped++
  }
  return { done, skipped, total: STEPS.length }
}

type KV = Pick<Storage, 'getItem' | 'setItem'>

export function storageKey(userId: string): string {
  return `vibecode.onboarding.${userId}`
}

export function loadState(storage: KV, userId: string): OnboardingState | null {
  try {
    const raw = storage.getItem(storageKey(userId))
    if (!raw) return null
    const s = JSON.parse(raw) as OnboardingState
    if (s?.version !== 1 || typeof s.step !== 'number') return null
    return { ...initialState(), ...s, step: Math.min(Math.max(0, s.step), last) }
  } catch {
    return null
  }
}

export function saveState(storage: KV, userId: string, s: OnboardingState): void {
  try {
    storage.setItem(storageKey(userId), JSON.stringify(s))
  } catch {
    // storage unavailable: onboarding simply shows again next time
  }
}

/** Languages offered in the extensions step, with what the editor gives each. */
export const LANGUAGE_CHOICES: { id: string; label: string; extensions: string[] }[] = [
  { id: 'typescript', label: 'TypeScript / JavaScript', extensions: ['TypeScript language service (IntelliSense, diagnostics)', 'ESLint (recommended)', 'Prettier (recommended)'] },
  { id: 'python', label: 'Python', extensions: ['Python syntax highlighting', 'Pylance-style hints (recommended)', 'Ruff (recommended)'] },
  { id: 'go', label: 'Go', extensions: ['Go syntax highlighting', 'gopls (recommended)', 'gofmt on save (recommended)'] },
  { id: 'rust', label: 'Rust', extensions: ['Rust syntax highlighting', 'rust-analyzer (recommended)'] },
  { id: 'java', label: 'Java', extensions: ['Java syntax highlighting'] },
  { id: 'web', label: 'HTML / CSS', extensions: ['HTML and CSS language services (completion, colours)'] },
]

export const INTEGRATIONS = [
  { id: 'github', label: 'GitHub', hint: 'Clone and push repositories (connect from Settings later).' },
  { id: 'gitlab', label: 'GitLab', hint: 'Clone and push repositories.' },
  { id: 'slack', label: 'Slack', hint: 'Share snippets and workspace links.' },
]

export const CLI_TOOLS = [
  { id: 'git', label: 'git' },
  { id: 'node', label: 'Node.js + npm' },
  { id: 'python', label: 'Python 3 + pip' },
  { id: 'go', label: 'Go toolchain' },
  { id: 'rust', label: 'Rust (cargo)' },
  { id: 'docker', label: 'Docker CLI' },
]
