import { useValue } from '../lib/signal'
import { dismiss, toasts } from './app'

export function Toasts() {
  const list = useValue(toasts)
  return (
    <div class="toasts" aria-live="polite" aria-relevant="additions">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span>{t.text}</span>
          {t.action && <button type="button" onClick={() => { t.action!.run(); dismiss(t.id) }}>{t.action.label}</button>}
          <button type="button" class="ghost" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  )
}
