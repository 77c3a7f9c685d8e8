// AI answers streamed as Server-Sent Events: POST /api/ai/chat, /api/ai/workflows/{kind} and
// /api/workspaces/{id}/chat answer `delta` events ({"delta": text}), then one `done` event
// (provider, model, usage, cost; for workspace chat also citations and sources), or an
// `error` event if the stream fails after it started. Errors before the stream are JSON.
import { ApiClient, ApiError, errorFromResponse } from './api'
import { readSSE } from './sse'

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface CitationInfo {
  label: string
  path: string
  start_line: number
  end_line: number
  snippet: string
}

export interface SourceInfo {
  path: string
  start_line: number
  end_line: number
  snippet: string
  score: number
}

export interface Done {
  provider?: string
  model?: string
  usage?: { input_tokens: number; output_tokens: number }
  cost_usd?: number
  cached?: boolean
  finish_reason?: string
  citations?: CitationInfo[]
  sources?: SourceInfo[]
}

export interface StreamHandlers {
  onDelta(text: string): void
  onDone?(d: Done): void
}

/** Interprets one SSE event of an AI stream. Unknown events are ignored. */
export function interpret(ev: { event: string; data: string }, h: StreamHandlers): 'continue' | 'done' {
  if (ev.data === '[DONE]') return 'done'
  let body: any
  try {
    body = JSON.parse(ev.data)
  } catch {
    if (ev.event === 'delta' || ev.event === 'message') h.onDelta(ev.data)
    return 'continue'
  }
  switch (ev.event) {
    case 'delta':
    case 'message': {
      const t = typeof body === 'string' ? body : body?.delta ?? body?.content ?? body?.text ?? body?.choices?.[0]?.delta?.content
      if (typeof t === 'string' && t) h.onDelta(t)
      return 'continue'
    }
    case 'done':
      h.onDone?.(body as Done)
      return 'done'
    case 'error': {
      const e = body?.error ?? body
      throw new ApiError(502, e?.code ?? 'internal', e?.message ?? 'The AI answer failed.')
    }
    default:
      return 'continue'
  }
}

/** POSTs body to path and streams the answer; resolves with the final event (if any). */
export async function streamAI(api: ApiClient, path: string, body: unknown, h: StreamHandlers, signal?: AbortSignal): Promise<Done | null> {
  const res = await api.send(path, { method: 'POST', body, signal, headers: { Accept: 'text/event-stream' } })
  if (!res.ok) throw await errorFromResponse(res)
  if (!res.body) throw new ApiError(502, 'internal', 'The AI answer had no body.')
  let done: Done | null = null
  const handlers = { onDelta: h.onDelta, onDone: (d: Done) => { done = d; h.onDone?.(d) } }
  for await (const ev of readSSE(res.body, signal)) {
    if (interpret(ev, handlers) === 'done' && ev.event !== 'done') break
  }
  return done
}

/** The message to show for an AI failure, with what to do about it. */
export function aiErrorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 404 && err.code === 'not_found' && /route|no such|not found$/i.test(err.message)) return 'This server has no AI gateway. Ask an administrator to configure an AI provider.'
    if (err.status === 503) return `${err.message || 'No AI provider is configured.'} Configure a provider (Settings → AI providers shows how).`
    if (err.status === 429) return `Too many AI requests; try again${err.retryAfter ? ` in ${err.retryAfter} s` : ' shortly'}.`
    if (err.status === 402 || /budget/i.test(err.message)) return `${err.message}`
    return err.message
  }
  return err instanceof Error ? err.message : String(err)
}

export type WorkflowKind = 'code-generation' | 'code-review' | 'documentation'
