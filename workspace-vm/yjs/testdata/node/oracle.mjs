// The real yjs, driven by the Go tests of workspace-vm/yjs.
//
// Reads one JSON command per line on stdin and writes one JSON line per
// command on stdout ({"ok":true,...} or {"ok":false,"error":"..."}). Binary
// data (updates, state vectors) travels as base64. Documents live for the
// whole process and are addressed by name.
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import readline from 'node:readline'

const b64 = (u8) => Buffer.from(u8).toString('base64')
const unb64 = (s) => new Uint8Array(Buffer.from(s || '', 'base64'))

const docs = new Map()
const logs = new Map() // doc name -> updates it emitted for local transactions

const newDoc = (name, client, gc = true) => {
  const doc = new Y.Doc({ gc })
  doc.clientID = client
  docs.set(name, doc)
  logs.set(name, [])
  doc.on('update', (u, origin) => {
    if (origin !== 'remote') logs.get(name).push(u)
  })
  return doc
}

const getDoc = (name) => {
  const d = docs.get(name)
  if (!d) throw new Error(`no doc ${name}`)
  return d
}

// mulberry32: a small seeded PRNG so sessions are reproducible from the seed.
const prng = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pieces = ['a', 'b', 'c', 'x', 'hello', ' ', '\n', 'line\n', 'é', 'ß', '中', '文字', '😀', '👍🏽', '𝄞', 'ab😀cd', 'ü\n', '\t']

// Move an index off the second half of a surrogate pair.
const alignIndex = (s, i) => (i > 0 && i < s.length && s.charCodeAt(i) >= 0xdc00 && s.charCodeAt(i) <= 0xdfff) ? i - 1 : i

const randomEdit = (rand, text, splitPairs) => {
  const s = text.toString()
  const r = rand()
  if (r < 0.6 || s.length === 0) {
    let str = ''
    const n = 1 + Math.floor(rand() * 3)
    for (let i = 0; i < n; i++) str += pieces[Math.floor(rand() * pieces.length)]
    let index = Math.floor(rand() * (s.length + 1))
    if (!splitPairs) index = alignIndex(s, index)
    text.insert(index, str)
  } else {
    let index = Math.floor(rand() * s.length)
    let len = 1 + Math.floor(rand() * Math.min(8, s.length - index))
    if (!splitPairs) {
      index = alignIndex(s, index)
      len = alignIndex(s, Math.min(s.length, index + len)) - index
      if (len <= 0) return
    }
    text.delete(index, len)
  }
}

// Random edits of maps, arrays and nested types (for sessions with mixed: true).
const mixedEdit = (rand, doc) => {
  const map = doc.getMap('m')
  const arr = doc.getArray('a')
  const keys = ['a', 'b', 'c', 'd']
  const key = keys[Math.floor(rand() * keys.length)]
  const values = [() => Math.floor(rand() * 100), () => 'str' + Math.floor(rand() * 10), () => ({ o: [1, rand() < 0.5] }), () => null,
    () => new Uint8Array([1, 2]), () => { const m = new Y.Map(); m.set('k', 1); return m }, () => { const t = new Y.Text(); t.insert(0, 'nested 😀'); return t },
    () => { const a = new Y.Array(); a.insert(0, [1, 2, 3]); return a }]
  const value = () => values[Math.floor(rand() * values.length)]()
  const r = rand()
  if (r < 0.3) {
    map.set(key, value())
  } else if (r < 0.4) {
    map.delete(key)
  } else if (r < 0.55) {
    const v = map.get(key)
    if (v instanceof Y.Map) v.set(keys[Math.floor(rand() * keys.length)], Math.floor(rand() * 9))
    else if (v instanceof Y.Text) v.insert(Math.floor(rand() * (v.length + 1)), 'x')
    else if (v instanceof Y.Array) v.insert(Math.floor(rand() * (v.length + 1)), ['y'])
  } else if (r < 0.8 || arr.length === 0) {
    const n = 1 + Math.floor(rand() * 3)
    const items = []
    for (let i = 0; i < n; i++) items.push(value())
    arr.insert(Math.floor(rand() * (arr.length + 1)), items)
  } else {
    const i = Math.floor(rand() * arr.length)
    arr.delete(i, 1 + Math.floor(rand() * Math.min(3, arr.length - i)))
  }
}

// A random session: `clients` docs edit one Y.Text concurrently; each local
// update is queued to every other doc and delivered in order at random times,
// so edits interleave. Returns all local updates in emission order, the
// converged text and state, and the state of an observer doc that applied the
// updates in emission order.
const randomSession = ({ seed, clients = 3, steps = 200, name = 'content', splitPairs = false, initial = '', mixed = false }) => {
  const rand = prng(seed)
  const ds = []
  const queues = []
  const all = []
  for (let i = 0; i < clients; i++) {
    const d = new Y.Doc()
    d.clientID = 1 + Math.floor(rand() * 0xfffffffe)
    ds.push(d)
    queues.push([])
  }
  ds.forEach((d, i) => {
    d.on('update', (u, origin) => {
      if (origin === 'remote') return
      all.push(b64(u))
      queues.forEach((q, j) => { if (j !== i) q.push(u) })
    })
  })
  if (initial) {
    ds[0].getText(name).insert(0, initial)
  }
  for (let s = 0; s < steps; s++) {
    const i = Math.floor(rand() * clients)
    if (mixed && rand() < 0.4) {
      ds[i].transact(() => mixedEdit(rand, ds[i]))
    } else if (rand() < 0.65) {
      const text = ds[i].getText(name)
      if (rand() < 0.2) {
        ds[i].transact(() => {
          const k = 1 + Math.floor(rand() * 3)
          for (let j = 0; j < k; j++) randomEdit(rand, text, splitPairs)
        })
      } else {
        randomEdit(rand, text, splitPairs)
      }
    } else {
      const q = queues[i]
      const k = Math.floor(rand() * (q.length + 1))
      for (const u of q.splice(0, k)) Y.applyUpdate(ds[i], u, 'remote')
    }
  }
  ds.forEach((d, i) => { for (const u of queues[i].splice(0)) Y.applyUpdate(d, u, 'remote') })
  const text = ds[0].getText(name).toString()
  for (const d of ds) {
    if (d.getText(name).toString() !== text) throw new Error('yjs docs did not converge')
  }
  const obs = new Y.Doc()
  for (const u of all) Y.applyUpdate(obs, unb64(u))
  return {
    updates: all,
    text,
    sv: b64(Y.encodeStateVector(ds[0])),
    state: b64(Y.encodeStateAsUpdate(ds[0])),
    observed: b64(Y.encodeStateAsUpdate(obs)),
    clients: ds.map(d => d.clientID),
    dump: mixed ? dump(ds[0], { content: 'text', m: 'map', a: 'array' }) : undefined
  }
}

const replacer = (_k, v) => {
  if (typeof v === 'bigint') return { bigint: v.toString() }
  if (v instanceof Uint8Array) return { bytes: b64(v) }
  if (v === undefined) return { undefined: true }
  if (v instanceof Y.Doc) return { subdoc: v.guid }
  return v
}

const dumpValue = (v) => {
  if (v instanceof Y.Text || v instanceof Y.XmlText) return { text: v.toDelta().map(dumpDelta) }
  if (v instanceof Y.XmlElement || v instanceof Y.XmlFragment || v instanceof Y.XmlHook) return { xml: v.toString(), json: v.toJSON() }
  if (v instanceof Y.Map) {
    const o = {}
    for (const k of [...v.keys()].sort()) o[k] = dumpValue(v.get(k))
    return { map: o }
  }
  if (v instanceof Y.Array) return { array: v.toArray().map(dumpValue) }
  if (v instanceof Y.Doc) return { subdoc: v.guid }
  return { value: v }
}

const dumpDelta = (op) => {
  const out = { ...op }
  if (op.insert instanceof Y.AbstractType) out.insert = dumpValue(op.insert)
  return out
}

// schema: root name -> 'text' | 'map' | 'array' | 'xml'
const dump = (doc, schema) => {
  const out = {}
  for (const name of Object.keys(schema).sort()) {
    const kind = schema[name]
    const t = kind === 'text' ? doc.getText(name) : kind === 'map' ? doc.getMap(name) : kind === 'array' ? doc.getArray(name) : doc.getXmlFragment(name)
    out[name] = dumpValue(t)
  }
  return JSON.stringify(out, replacer)
}

// A document that uses every content type yjs has, built by two clients.
const allTypes = ({ gc = true }) => {
  const a = new Y.Doc({ gc })
  a.clientID = 11
  const b = new Y.Doc({ gc })
  b.clientID = 7
  const text = a.getText('content')
  text.insert(0, 'Hello world 😀 中文 ok')
  text.format(0, 5, { bold: true })
  text.insertEmbed(6, { image: 'x.png' })
  text.insert(3, 'abc', { italic: true, color: '#f00' })
  text.delete(1, 2)
  const map = a.getMap('m')
  map.set('int', 42)
  map.set('neg', -7)
  map.set('bigint', 2n ** 40n)
  map.set('float', 1.5)
  map.set('f64', 0.1)
  map.set('large', 2 ** 40)
  map.set('str', 'x ü 😀')
  map.set('bool', true)
  map.set('false', false)
  map.set('null', null)
  map.set('undef', undefined)
  map.set('obj', { a: [1, { b: 'c' }], e: {}, n: null })
  map.set('bin', new Uint8Array([1, 2, 3]))
  map.set('sub', new Y.Doc({ guid: 'subdoc-1' }))
  map.set('sub2', new Y.Doc({ guid: 'subdoc-2', meta: { m: 1 }, autoLoad: true }))
  const nested = new Y.Map()
  map.set('nested', nested)
  nested.set('k', 'v')
  const ntext = new Y.Text()
  map.set('ntext', ntext)
  ntext.insert(0, 'nested text')
  ntext.format(0, 6, { underline: true })
  map.set('over', 1)
  map.set('over', 2)
  map.set('over', 'three')
  const gone = new Y.Map()
  map.set('gone', gone)
  gone.set('x', new Y.Array())
  gone.get('x').insert(0, [1, 2, 3])
  map.delete('gone')
  const arr = a.getArray('a')
  arr.insert(0, [1, 'two', { three: 3 }, [4], null, true, 1.25])
  arr.insert(1, [new Y.Array()])
  arr.get(1).insert(0, ['deep', new Y.Map()])
  arr.delete(3, 2)
  arr.push([new Uint8Array([9]), new Y.Doc({ guid: 'subdoc-3' })])
  const xml = a.getXmlFragment('x')
  const el = new Y.XmlElement('p')
  el.setAttribute('class', 'c')
  xml.insert(0, [el, new Y.XmlHook('hook'), new Y.XmlText('tail')])
  el.insert(0, [new Y.XmlText('hi'), new Y.XmlElement('br')])
  // Client b edits concurrently, then the two sync.
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
  b.getText('content').insert(2, 'B!')
  b.getMap('m').set('fromB', ['b'])
  b.getArray('a').delete(0, 1)
  a.getText('content').insert(4, 'A?')
  a.getText('content').delete(8, 3)
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b))
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
  a.getText('content').insertEmbed(3, { video: 'v.mp4', w: 1.5 })
  // Legacy ContentJSON (no longer produced by the API) written by hand.
  const enc = new Y.UpdateEncoderV1()
  encoding.writeVarUint(enc.restEncoder, 1) // clients
  encoding.writeVarUint(enc.restEncoder, 1) // structs
  enc.writeClient(3)
  encoding.writeVarUint(enc.restEncoder, 0) // clock
  enc.writeInfo(2) // ContentJSON, parent by key
  enc.writeParentInfo(true)
  enc.writeString('legacy')
  enc.writeLen(3)
  enc.writeString('{"a":1}')
  enc.writeString('undefined')
  enc.writeString('[1,"x"]')
  encoding.writeVarUint(enc.restEncoder, 0) // delete set
  Y.applyUpdate(a, enc.toUint8Array())
  return a
}

const schemaAll = { content: 'text', m: 'map', a: 'array', x: 'xml', legacy: 'array' }

const handlers = {
  new: (c) => { newDoc(c.doc, c.client, c.gc !== false); return {} },
  insert: (c) => { getDoc(c.doc).getText(c.name).insert(c.index, c.text); return {} },
  delete: (c) => { getDoc(c.doc).getText(c.name).delete(c.index, c.len); return {} },
  apply: (c) => { Y.applyUpdate(getDoc(c.doc), unb64(c.update), 'remote'); return {} },
  encode: (c) => ({ update: b64(Y.encodeStateAsUpdate(getDoc(c.doc), c.sv ? unb64(c.sv) : undefined)) }),
  sv: (c) => ({ sv: b64(Y.encodeStateVector(getDoc(c.doc))) }),
  text: (c) => ({ text: getDoc(c.doc).getText(c.name).toString() }),
  updates: (c) => { const l = logs.get(c.doc); const out = l.map(b64); l.length = 0; return { updates: out } },
  merge: (c) => ({ update: b64(Y.mergeUpdates(c.updates.map(unb64))) }),
  svFromUpdate: (c) => ({ sv: b64(Y.encodeStateVectorFromUpdate(unb64(c.update))) }),
  random: (c) => randomSession(c),
  // n random local edits of one doc's text, as one transaction each.
  randomEdits: (c) => {
    const rand = prng(c.seed)
    const text = getDoc(c.doc).getText(c.name)
    for (let i = 0; i < c.n; i++) randomEdit(rand, text, false)
    return {}
  },
  allTypes: (c) => {
    const d = allTypes(c)
    docs.set(c.doc || 'alltypes', d)
    return { update: b64(Y.encodeStateAsUpdate(d)), dump: dump(d, schemaAll), schema: schemaAll }
  },
  // Apply updates to a fresh doc: its dump, text, state vector and state.
  check: (c) => {
    const d = new Y.Doc({ gc: c.gc !== false })
    for (const u of c.updates) Y.applyUpdate(d, unb64(u))
    const out = {
      sv: b64(Y.encodeStateVector(d)),
      state: b64(Y.encodeStateAsUpdate(d)),
      pending: d.store.pendingStructs !== null || d.store.pendingDs !== null
    }
    if (c.schema) out.dump = dump(d, c.schema)
    if (c.name) out.text = d.getText(c.name).toString()
    return out
  },
  // Build a long document by many small edits of one client.
  big: (c) => {
    const d = new Y.Doc()
    d.clientID = c.client || 5
    const t = d.getText(c.name || 'content')
    const rand = prng(c.seed || 1)
    let line = 0
    while (t.length < c.size) {
      t.insert(t.length, `line ${line++}: ${'lorem ipsum 中文 😀 '.repeat(1 + Math.floor(rand() * 4))}\n`)
    }
    docs.set(c.doc || 'big', d)
    return { update: b64(Y.encodeStateAsUpdate(d)), length: t.length }
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => {
  if (!line.trim()) return
  let out
  try {
    const c = JSON.parse(line)
    const h = handlers[c.cmd]
    if (!h) throw new Error(`unknown command ${c.cmd}`)
    out = { ok: true, ...h(c) }
  } catch (e) {
    out = { ok: false, error: String(e && e.stack ? e.stack : e) }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
})
