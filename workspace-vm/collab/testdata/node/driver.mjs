// driver.mjs runs real yjs + y-websocket clients for workspace-vm/collab's compatibility test.
// It reads one JSON command per line on stdin and answers each with one JSON line on stdout:
// {"id": <the command's id>, "ok": true, ...result} or {"id": ..., "ok": false, "error": "..."}.
// Commands may overlap (the Go test sends two bursts at once to edit concurrently).
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const clients = new Map()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function until (cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what())
    await sleep(10)
  }
}

function client (name) {
  const c = clients.get(name)
  if (!c) throw new Error('no client ' + name)
  return c
}

// A tiny deterministic PRNG so a failing burst can be replayed.
function rng (seed) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 4294967296
  }
}

const ops = {
  async open ({ name, url, room, timeoutMs }) {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(url, room, doc, {
      WebSocketPolyfill: WebSocket,
      disableBc: true, // only the server may connect the clients
      maxBackoffTime: 500
    })
    provider.awareness.setLocalStateField('user', { name })
    const c = { doc, provider, text: doc.getText('content'), closeCodes: [], updates: 0 }
    provider.on('connection-close', (ev) => c.closeCodes.push(ev ? ev.code : null))
    doc.on('update', (_u, origin) => { if (origin === provider) c.updates++ })
    clients.set(name, c)
    await until(() => provider.synced, timeoutMs, () => 'first sync of ' + name)
    return {}
  },
  async waitSynced ({ name, timeoutMs }) {
    const c = client(name)
    await until(() => c.provider.wsconnected && c.provider.synced, timeoutMs, () => 'sync of ' + name)
    return {}
  },
  async insert ({ name, index, text }) {
    const t = client(name).text
    t.insert(index < 0 ? t.length : Math.min(index, t.length), text)
    return { text: t.toString() }
  },
  async delete ({ name, index, length }) {
    const t = client(name).text
    t.delete(index, length)
    return { text: t.toString() }
  },
  // burst makes n small random edits, yielding between them so that another client's burst
  // interleaves with this one over the network.
  async burst ({ name, n, seed }) {
    const t = client(name).text
    const rand = rng(seed)
    for (let i = 0; i < n; i++) {
      if (t.length > 10 && rand() < 0.25) {
        const at = Math.floor(rand() * (t.length - 3))
        t.delete(at, 1 + Math.floor(rand() * 3))
      } else {
        t.insert(Math.floor(rand() * (t.length + 1)), `<${name}${i}>`)
      }
      await sleep(rand() < 0.5 ? 0 : 2)
    }
    return { text: t.toString() }
  },
  async text ({ name }) {
    const c = client(name)
    return {
      text: c.text.toString(),
      connected: c.provider.wsconnected,
      synced: c.provider.synced,
      closeCodes: c.closeCodes,
      updates: c.updates,
      awareness: [...c.provider.awareness.getStates().values()].map((s) => (s.user && s.user.name) || '')
    }
  },
  async waitText ({ name, text, timeoutMs }) {
    const t = client(name).text
    await until(() => t.toString() === text, timeoutMs, () => `${name} to read ${JSON.stringify(text)}, has ${JSON.stringify(t.toString())}`)
    return {}
  },
  async close ({ name }) {
    client(name).provider.destroy()
    clients.delete(name)
    return {}
  },
  // replay applies updates (base64) to a fresh document and returns its text: the real yjs
  // reading what the Go side stored.
  async replay ({ updates }) {
    const doc = new Y.Doc()
    for (const u of updates) Y.applyUpdate(doc, Buffer.from(u, 'base64'))
    const pending = doc.store.pendingStructs !== null || doc.store.pendingDs !== null
    return { text: doc.getText('content').toString(), pending }
  },
  // merge returns Y.mergeUpdates of the updates, for comparing with a Go snapshot.
  async merge ({ updates }) {
    const merged = Y.mergeUpdates(updates.map((u) => Buffer.from(u, 'base64')))
    return { update: Buffer.from(merged).toString('base64') }
  }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let cmd
  try {
    cmd = JSON.parse(line)
    const result = await ops[cmd.op](cmd)
    process.stdout.write(JSON.stringify({ id: cmd.id, ok: true, ...result }) + '\n')
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: cmd && cmd.id, ok: false, error: String((e && e.stack) || e) }) + '\n')
  }
})
rl.on('close', () => {
  for (const c of clients.values()) c.provider.destroy()
  process.exit(0)
})
