import { render } from 'preact'
performance.mark('vc:app-start')
import './styles.css'
import { listFiles, readFile } from './lib/files'
import { prefetch } from './lib/prefetch'
import { api } from './ui/app'
import { App } from './ui/App'

// Opening a workspace directly: start loading the IDE's code and its data right away, in
// parallel, instead of after the first render.
const ws = /^\/w\/([0-9a-f]{32})$/.exec(location.pathname)?.[1]
if (ws && api.session) {
  void import('./ide/Ide')
  prefetch(`ws:${ws}`, () => api.get(`/api/workspaces/${ws}`))
  prefetch(`files:${ws}`, () => listFiles(api, ws))
  const open = new URLSearchParams(location.search).get('open')
  if (open) prefetch(`file:${ws}:${open}`, () => readFile(api, ws, open))
}

render(<App />, document.getElementById('app')!)
