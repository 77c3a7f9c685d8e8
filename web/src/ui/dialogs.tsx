// Accessible modal dialogs: focus moves into the dialog and is trapped there, Escape closes,
// focus returns to where it was. confirmDialog and promptDialog return promises.
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { Signal, useValue } from '../lib/signal'

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean; describedBy?: string; class?: string; initialFocus?: string }) {
  const ref = useRef<HTMLDivElement>(null)
  const titleId = useRef(`dlg-${Math.random().toString(36).slice(2)}`).current
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null
    const el = ref.current!
    const first = (props.initialFocus && el.querySelector<HTMLElement>(props.initialFocus)) || el.querySelector<HTMLElement>('[autofocus]') || el.querySelector<HTMLElement>(FOCUSABLE) || el
    first.focus()
    return () => prev?.focus?.()
  }, [])
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation()
      e.preventDefault()
      props.onClose()
      return
    }
    if (e.key !== 'Tab') return
    const items = [...ref.current!.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.offsetParent !== null || x === document.activeElement)
    if (!items.length) return
    const first = items[0]
    const last = items[items.length - 1]
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault()
      last.focus()
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault()
      first.focus()
    }
  }
  return (
    <div class="modal-backdrop" onMouseDown={(e) => { if (e.target === e.currentTarget) props.onClose() }}>
      <div ref={ref} class={`modal ${props.wide ? 'modal-wide' : ''} ${props.class ?? ''}`} role="dialog" aria-modal="true" aria-labelledby={titleId} aria-describedby={props.describedBy} tabIndex={-1} onKeyDown={onKey}>
        <h2 id={titleId} class="modal-title">{props.title}</h2>
        {props.children}
      </div>
    </div>
  )
}

type Pending =
  | { kind: 'confirm'; title: string; message: string; confirmLabel: string; danger: boolean; resolve: (v: boolean) => void }
  | { kind: 'prompt'; title: string; label: string; value: string; confirmLabel: string; validate?: (v: string) => string | null; select?: [number, number]; resolve: (v: string | null) => void }

const pending = new Signal<Pending | null>(null)

export function confirmDialog(o: { title: string; message: string; confirmLabel?: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    pending.value = { kind: 'confirm', title: o.title, message: o.message, confirmLabel: o.confirmLabel ?? 'OK', danger: !!o.danger, resolve }
  })
}

export function promptDialog(o: { title: string; label: string; value?: string; confirmLabel?: string; validate?: (v: string) => string | null; select?: [number, number] }): Promise<string | null> {
  return new Promise((resolve) => {
    pending.value = { kind: 'prompt', title: o.title, label: o.label, value: o.value ?? '', confirmLabel: o.confirmLabel ?? 'OK', validate: o.validate, select: o.select, resolve }
  })
}

export function DialogHost() {
  const p = useValue(pending)
  if (!p) return null
  const close = (v: any) => {
    pending.value = null
    ;(p.resolve as (v: unknown) => void)(v)
  }
  if (p.kind === 'confirm') {
    return (
      <Modal title={p.title} onClose={() => close(false)} describedBy="confirm-msg">
        <p id="confirm-msg">{p.message}</p>
        <div class="modal-actions">
          <button type="button" onClick={() => close(false)}>Cancel</button>
          <button type="button" class={p.danger ? 'danger' : 'primary'} autofocus onClick={() => close(true)}>{p.confirmLabel}</button>
        </div>
      </Modal>
    )
  }
  return <PromptBody p={p} close={close} />
}

function PromptBody({ p, close }: { p: Extract<Pending, { kind: 'prompt' }>; close: (v: string | null) => void }) {
  const [value, setValue] = useState(p.value)
  const [error, setError] = useState<string | null>(null)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => {
    const el = input.current!
    el.focus()
    if (p.select) el.setSelectionRange(p.select[0], p.select[1])
    else el.select()
  }, [])
  const submit = (e: Event) => {
    e.preventDefault()
    const err = p.validate?.(value) ?? null
    if (err) {
      setError(err)
      return
    }
    close(value)
  }
  return (
    <Modal title={p.title} onClose={() => close(null)}>
      <form onSubmit={submit}>
        <label class="field">
          <span>{p.label}</span>
          <input ref={input} value={value} aria-invalid={!!error} aria-describedby={error ? 'prompt-err' : undefined}
            onInput={(e) => { setValue((e.target as HTMLInputElement).value); setError(null) }} />
        </label>
        {error && <p id="prompt-err" class="form-error" role="alert">{error}</p>}
        <div class="modal-actions">
          <button type="button" onClick={() => close(null)}>Cancel</button>
          <button type="submit" class="primary">{p.confirmLabel}</button>
        </div>
      </form>
    </Modal>
  )
}
