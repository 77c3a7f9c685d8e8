// A minimal observable value for state shared outside the component tree (session, theme,
// connectivity, toasts); useValue subscribes a component to it.
import { useLayoutEffect, useReducer } from 'preact/hooks'

export class Signal<T> {
  private v: T
  private subs = new Set<(v: T) => void>()
  constructor(v: T) {
    this.v = v
  }
  get value(): T {
    return this.v
  }
  set value(v: T) {
    if (Object.is(v, this.v)) return
    this.v = v
    for (const fn of [...this.subs]) fn(v)
  }
  /** Notifies subscribers although the value is the same object (it was mutated). */
  touch() {
    for (const fn of [...this.subs]) fn(this.v)
  }
  subscribe(fn: (v: T) => void): () => void {
    this.subs.add(fn)
    return () => this.subs.delete(fn)
  }
}

export function useValue<T>(s: Signal<T>): T {
  const [, force] = useReducer((x: number) => x + 1, 0)
  const seen = s.value
  // Subscribe in a layout effect (before children's effects run) and catch up with a change
  // that happened between render and subscription.
  useLayoutEffect(() => {
    const unsub = s.subscribe(() => force(0))
    if (!Object.is(s.value, seen)) force(0)
    return unsub
  }, [s])
  return seen
}
