import { useEffect, useRef, useState } from 'preact/hooks'
import { basename } from '../lib/paths'
import { useValue } from '../lib/signal'
import { message, notify } from '../ui/app'
import { Modal } from '../ui/dialogs'
import type { IdeController } from './controller'
import { monaco, monacoTheme } from './monaco'

function Diff({ theirs, mine, language }: { theirs: string; mine: string; language: string }) {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const original = monaco.editor.createModel(theirs, language)
    const modified = monaco.editor.createModel(mine, language)
    const diff = monaco.editor.createDiffEditor(host.current!, { readOnly: true, automaticLayout: true, theme: monacoTheme(), renderSideBySide: true, originalEditable: false, ariaLabel: 'Their version compared with yours' })
    diff.setModel({ original, modified })
    return () => {
      diff.dispose()
      original.dispose()
      modified.dispose()
    }
  }, [theirs, mine])
  return (
    <div>
      <div class="diff-legend"><span>Their version (on the server)</span><span>Your version</span></div>
      <div ref={host} class="diff-host" data-testid="conflict-diff" />
    </div>
  )
}

export function ConflictDialog({ ide }: { ide: IdeController }) {
  const path = useValue(ide.conflict)
  useValue(ide.docs.changed)
  const [compare, setCompare] = useState(false)
  const [busy, setBusy] = useState(false)
  useEffect(() => setCompare(false), [path])
  if (!path) return null
  const doc = ide.docs.get(path)
  if (!doc?.conflict || !doc.model) return null
  const theirs = doc.conflict.theirs
  const close = () => { ide.conflict.value = null }
  const choose = async (choice: 'mine' | 'theirs') => {
    setBusy(true)
    try {
      await ide.docs.resolve(path, choice)
      const still = ide.docs.get(path)?.conflict
      if (still) notify('warning', `${basename(path)} changed again meanwhile; compare once more.`)
      else {
        notify('success', choice === 'mine' ? `Saved your version of ${basename(path)}.` : `Took the server's version of ${basename(path)}.`)
        close()
      }
    } catch (err) {
      notify('error', `Could not resolve the conflict: ${message(err)}`)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Modal title={`Save conflict: ${basename(path)}`} onClose={close} wide={compare} describedBy="conflict-desc">
      <p id="conflict-desc">
        {theirs
          ? `${path} was changed by someone else (or in another tab) since you opened it. Your changes are not lost: choose which version to keep.`
          : `${path} was deleted on the server since you opened it. Keep yours to create it again, or discard your edits.`}
      </p>
      {compare && theirs && <Diff theirs={theirs.text} mine={doc.model.getValue()} language={doc.model.getLanguageId()} />}
      <div class="modal-actions">
        <button type="button" onClick={close} disabled={busy}>Decide later</button>
        {theirs && <button type="button" onClick={() => setCompare(!compare)} aria-pressed={compare}>{compare ? 'Hide differences' : 'Compare'}</button>}
        <button type="button" onClick={() => choose('theirs')} disabled={busy}>{theirs ? 'Take theirs' : 'Discard mine'}</button>
        <button type="button" class="primary" autofocus onClick={() => choose('mine')} disabled={busy}>Keep mine</button>
      </div>
    </Modal>
  )
}
