// End-to-end harness: builds and starts the real local stack (go build ./infra) on a free
// port with its own data directory, an OpenAI-compatible fake provider for AI answers, and
// headless Debian Chromium driven by playwright-core.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, existsSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { chromium } from 'playwright-core'

export const webDir = join(dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = join(webDir, '..')
export const resultsDir = join(webDir, 'test-results')

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

/**
 * The fake provider speaks OpenAI's chat-completions SSE (and legacy completions for
 * fill-in-the-middle). Its answer is decided from the prompt: a workspace (RAG) question gets
 * an answer citing the first retrieved chunk's label, everything else a fixed sentence.
 */
export async function startFakeProvider() {
  const requests = []
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => { raw += c })
    req.on('end', () => {
      let body = {}
      try { body = JSON.parse(raw || '{}') } catch { /* keep {} */ }
      requests.push({ path: req.url, body })
      if (req.url.endsWith('/models')) {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model' }] }))
        return
      }
      const fim = req.url.endsWith('/completions') && !req.url.endsWith('/chat/completions')
      const msgs = (body.messages ?? []).map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) }))
      const prompt = fim ? String(body.prompt ?? '') : msgs.map((m) => m.content).join('\n')
      const question = fim ? '' : [...msgs].reverse().find((m) => m.role === 'user')?.content ?? ''
      let answer
      const label = /\[([^\[\]\n]+?:\d+-\d+)\]/.exec(prompt)
      if (fim || /inline code completion/.test(prompt)) answer = '    return n % 2 == 0'
      else if (/prime/i.test(question) && label) answer = `The prime check is \`IsPrime\` in [${label[1]}]. It tries divisors up to the square root.`
      else answer = 'Hello from the fake provider. Here is code:\n```go\nfmt.Println("hi")\n```\nDone.'
      const deltas = answer.match(/.{1,12}/gs)
      if (body.stream === false) {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify(fim
          ? { id: 'c', object: 'text_completion', created: 1, model: body.model, choices: [{ index: 0, text: answer, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 } }
          : { id: 'c', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } }))
        return
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
      const chunk = (text, finish) => fim
        ? { id: 'c', object: 'text_completion', created: 1, model: body.model, choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] }
        : { id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: finish }], usage: null }
      let i = 0
      const tick = () => {
        if (i < deltas.length) {
          res.write(`data: ${JSON.stringify(chunk(deltas[i++], null))}\n\n`)
          setTimeout(tick, 5)
          return
        }
        res.write(`data: ${JSON.stringify(chunk('', 'stop'))}\n\n`)
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage: { prompt_tokens: 1000, completion_tokens: deltas.length, total_tokens: 1000 + deltas.length } })}\n\n`)
        res.end('data: [DONE]\n\n')
      }
      tick()
    })
  })
  const port = await freePort()
  await new Promise((r) => server.listen(port, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${port}/v1`, requests, close: () => new Promise((r) => server.close(r)) }
}

/** Builds ./infra into dir (the web build must exist: make web). */
export async function buildStack(dir) {
  if (!existsSync(join(webDir, 'dist', 'index.html'))) throw new Error('web/dist is not built: run `make web` (or npm run build in web/) first')
  const bin = join(dir, 'vibecode')
  const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go'
  await promisify(execFile)(go, ['build', '-o', bin, './infra'], { cwd: repoRoot, maxBuffer: 16 << 20 })
  return bin
}

export async function startStack({ bin, dataDir, env = {} }) {
  const port = await freePort()
  const log = []
  const proc = spawn(bin, [], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', VIBECODE_DATA_DIR: dataDir, BCRYPT_COST: '4', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout.on('data', (d) => log.push(String(d)))
  proc.stderr.on('data', (d) => log.push(String(d)))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the stack exited (${proc.exitCode}):\n${log.join('')}`)
    try {
      const r = await fetch(base + '/api/health')
      if (r.ok) break
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`the stack did not come up:\n${log.join('')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    base,
    log,
    stop: async () => {
      if (proc.exitCode !== null) return
      proc.kill('SIGTERM')
      await new Promise((r) => { proc.once('exit', r); setTimeout(() => { proc.kill('SIGKILL'); r() }, 10_000) })
    },
  }
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
}

/** A new browser context whose console and page errors are collected (CSP violations show there). */
export async function newContext(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, permissions: ['clipboard-read', 'clipboard-write'] })
  ctx.problems = []
  ctx.on('page', (page) => watch(page, ctx.problems, name))
  return ctx
}

export function watch(page, problems, name = '') {
  page.on('console', (m) => {
    const text = m.text()
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(text)) problems.push(`[${name} console.${m.type()}] ${text}`)
  })
  page.on('pageerror', (e) => problems.push(`[${name} pageerror] ${e.message}`))
}

/** Console errors that are expected (a 404/503 the UI handles) are not problems. */
export function unexpected(problems) {
  return problems.filter((p) => !/Failed to load resource: (the server responded with a status of (404|401|412|503)|net::ERR_INTERNET_DISCONNECTED)/.test(p))
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function ensureResults() {
  mkdirSync(resultsDir, { recursive: true })
  return resultsDir
}

export function cleanup(dir) {
  try { rmSync(dir, { recursive: true, force: true }) } catch { /* left behind */ }
}

/** Calls the API with the session stored by the page (for setup and checks). */
export async function apiFromPage(page, method, path, body, headers = {}) {
  return page.evaluate(async ({ method, path, body, headers }) => {
    const s = JSON.parse(localStorage.getItem('vibecode.session'))
    const init = { method, headers: { Authorization: `Bearer ${s.token}`, ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      if (typeof body !== 'string') init.headers['Content-Type'] = 'application/json'
    }
    const r = await fetch(path, init)
    const text = await r.text()
    let json = null
    try { json = JSON.parse(text) } catch { /* not JSON */ }
    return { status: r.status, text, json, etag: r.headers.get('ETag') }
  }, { method, path, body, headers })
}

/** A .tar.gz of files ({path: content}), written by hand (ustar headers), for the import test. */
export async function tarGz(files) {
  const { gzipSync } = await import('node:zlib')
  const blocks = []
  const enc = new TextEncoder()
  for (const [name, content] of Object.entries(files)) {
    const data = enc.encode(content)
    const h = new Uint8Array(512)
    const put = (s, off, len) => h.set(enc.encode(s).subarray(0, len), off)
    const oct = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0'
    put(name, 0, 100)
    put(oct(0o644, 8), 100, 8)
    put(oct(0, 8), 108, 8)
    put(oct(0, 8), 116, 8)
    put(oct(data.length, 12), 124, 12)
    put(oct(Math.floor(Date.now() / 1000), 12), 136, 12)
    put('        ', 148, 8)
    put('0', 156, 1)
    put('ustar\0', 257, 6)
    put('00', 263, 2)
    let sum = 0
    for (const b of h) sum += b
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512))
  }
  blocks.push(new Uint8Array(1024))
  const total = blocks.reduce((a, b) => a + b.length, 0)
  const out = new Uint8Array(total)
  let o = 0
  for (const b of blocks) { out.set(b, o); o += b.length }
  return gzipSync(out)
}
