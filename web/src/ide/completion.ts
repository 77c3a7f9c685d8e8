// Inline completion through Monacopilot against POST /api/ai/complete: Monacopilot debounces
// (it asks after a pause in typing), our request handler adds the bearer token, names the
// real language and file, and aborts a request as soon as the text or cursor moves on.
import { registerCompletion } from 'monacopilot'
import { ApiError } from '../lib/api'
import { Signal } from '../lib/signal'
import type { IdeController } from './controller'
import { monaco } from './monaco'

/** null: unknown yet; true: completions work; a string: why they are off. */
export const completionState = new Signal<true | string | null>(null)

export function registerInlineCompletion(ide: IdeController, editor: monaco.editor.IStandaloneCodeEditor): { dispose(): void } {
  let inflight: AbortController | null = null
  let pausedUntil = 0
  const abort = () => {
    inflight?.abort()
    inflight = null
  }
  const subs = [editor.onDidChangeModelContent(abort), editor.onDidChangeCursorPosition(abort), editor.onDidChangeModel(abort)]
  const reg = registerCompletion(monaco as any, editor as any, {
    language: '*',
    trigger: 'onIdle',
    maxContextLines: 120,
    enableCaching: true,
    onError: () => { /* shown in the status bar; never interrupts typing */ },
    requestHandler: async ({ body }: { body: any }) => {
      if (Date.now() < pausedUntil) return { completion: null }
      const model = editor.getModel()
      if (!model) return { completion: null }
      abort()
      const ctl = new AbortController()
      inflight = ctl
      const md = { ...body.completionMetadata, language: model.getLanguageId(), filename: ide.active.value ?? undefined }
      try {
        const res = await ide.api.send('/api/ai/complete', { method: 'POST', body: { completionMetadata: md }, signal: ctl.signal })
        if (res.status === 404 || res.status === 503) {
          const e = await res.json().catch(() => null)
          completionState.value = e?.error?.message ?? 'No AI provider is configured.'
          pausedUntil = Date.now() + 60_000
          return { completion: null }
        }
        if (res.status === 429) {
          pausedUntil = Date.now() + 1000 * Number(res.headers.get('Retry-After') ?? 10)
          return { completion: null }
        }
        if (!res.ok) return { completion: null }
        completionState.value = true
        const r = (await res.json()) as { completion: string | null }
        return { completion: r.completion ?? null }
      } catch (err) {
        if ((err as Error)?.name === 'AbortError' || err instanceof ApiError) return { completion: null }
        throw err
      } finally {
        if (inflight === ctl) inflight = null
      }
    },
  } as any)
  return {
    dispose() {
      abort()
      subs.forEach((s) => s.dispose())
      reg.deregister()
    },
  }
}
