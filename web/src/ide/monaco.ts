// Monaco, assembled from its tree-shakeable entry points: the editor core, every editor
// feature, every language's tokenizer (each loads on demand when a model of that language
// appears) and the TS/JSON/CSS/HTML language services (loaded on demand, in workers).
// Workers are separate bundles (Vite ?worker), started from same-origin URLs, which the CSP's
// worker-src 'self' allows; nothing here needs eval or inline scripts.
import * as monaco from 'monaco-editor/editor'
import 'monaco-editor/features/register.all'
import 'monaco-editor/languages/definitions/register.all'
import 'monaco-editor/languages/features/register.all'
import EditorWorker from 'monaco-editor/editor/editor.worker?worker'
import TsWorker from 'monaco-editor/language/typescript/ts.worker?worker'
import JsonWorker from 'monaco-editor/language/json/json.worker?worker'
import CssWorker from 'monaco-editor/language/css/css.worker?worker'
import HtmlWorker from 'monaco-editor/language/html/html.worker?worker'
import { effectiveTheme } from '../lib/theme'

;(globalThis as any).MonacoEnvironment = {
  getWorker(_id: string, label: string): Worker {
    switch (label) {
      case 'typescript':
      case 'javascript':
        return new TsWorker()
      case 'json':
        return new JsonWorker()
      case 'css':
      case 'scss':
      case 'less':
        return new CssWorker()
      case 'html':
      case 'handlebars':
      case 'razor':
        return new HtmlWorker()
      default:
        return new EditorWorker()
    }
  },
}

// Monaco cancels superseded work (hovers, suggestions, inline completions) by rejecting with
// an Error named "Canceled"; those rejections are expected, not failures.
addEventListener('unhandledrejection', (e) => {
  const r = e.reason as { name?: string; message?: string } | undefined
  if (r?.name === 'Canceled' || r?.message === 'Canceled') e.preventDefault()
})

export function monacoTheme(): string {
  return effectiveTheme.value === 'dark' ? 'vs-dark' : 'vs'
}

effectiveTheme.subscribe(() => monaco.editor.setTheme(monacoTheme()))

/** The Monaco language for a path, from the server's language or Monaco's own registry. */
export function languageFor(path: string, serverLanguage?: string): string {
  const known = new Set(monaco.languages.getLanguages().map((l) => l.id))
  if (serverLanguage && serverLanguage !== 'plaintext' && known.has(serverLanguage)) return serverLanguage
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase()
  for (const l of monaco.languages.getLanguages()) {
    if (l.filenames?.some((f) => f.toLowerCase() === name)) return l.id
    if (l.extensions?.some((e) => name.endsWith(e.toLowerCase()))) return l.id
  }
  return serverLanguage && known.has(serverLanguage) ? serverLanguage : 'plaintext'
}

export function modelUri(workspaceId: string, path: string): monaco.Uri {
  return monaco.Uri.from({ scheme: 'file', path: `/${workspaceId}/${path}` })
}

export { monaco }
