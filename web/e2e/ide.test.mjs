// End-to-end tests of the web IDE against the real local stack (see harness.mjs). Run with
// `npm run e2e` (make web-test); the IDE screenshot is kept in web/test-results/ide.png and the
// first-load timing in web/test-results/timing.json.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import { apiFromPage, buildStack, cleanup, ensureResults, launchBrowser, newContext, startFakeProvider, startStack, tarGz, tempDir, unexpected } from './harness.mjs'

const PRIMES_GO = `package mathx

import "math"

// IsPrime reports whether n is a prime number: it tries every odd divisor up to the square
// root of n.
func IsPrime(n int) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := 3; d <= int(math.Sqrt(float64(n))); d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}
`

const DISTRACTORS = {
	'server/http.go': 'package server\n\nimport "net/http"\n\n// Serve starts the HTTP server on addr and routes requests to the handlers.\nfunc Serve(addr string) error {\n\treturn http.ListenAndServe(addr, nil)\n}\n',
	'strings/reverse.go': 'package strings\n\n// Reverse returns s with its runes in reverse order.\nfunc Reverse(s string) string {\n\tr := []rune(s)\n\tfor i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n\t\tr[i], r[j] = r[j], r[i]\n\t}\n\treturn string(r)\n}\n',
	'db/users.py': 'def load_users(conn):\n    """Fetch every user row from the database."""\n    return conn.execute("select * from users").fetchall()\n',
	'web/app.ts': 'export function renderHeader(title: string): string {\n  // Build the page header markup.\n  return `<h1>${title}</h1>`\n}\n',
}

let dir, stack, provider, browser, ctxA, base
let workspaceId = ''
const email = `ada-${Date.now()}@example.com`
const timing = {}

/** The text Monaco shows (its rendered lines; the files here are short). */
async function editorText(page) {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll('.monaco-editor .view-lines .view-line')]
    const sorted = lines.map((el) => ({ top: parseFloat(el.style.top), text: el.textContent })).sort((a, b) => a.top - b.top)
    return sorted.map((l) => l.text.replace(/\u00a0/g, ' ')).join('\n')
  })
}

async function waitForEditorText(page, needle, timeout = 15000) {
  const end = Date.now() + timeout
  let last = ''
  while (Date.now() < end) {
    last = await editorText(page)
    if (last.includes(needle)) return last
    await page.waitForTimeout(100)
  }
  throw new Error(`the editor never showed ${JSON.stringify(needle)}; it shows:\n${last}`)
}

/** Types into Monaco the way a user pastes (no auto-indent or auto-closing brackets). */
async function paste(page, text) {
  await page.evaluate((t) => navigator.clipboard.writeText(t), text)
  await page.keyboard.press('Control+v')
}

async function focusEditor(page) {
  await page.locator('.monaco-editor .view-lines').first().click()
}

/** The terminal's visible text (xterm.js DOM renderer rows). */
async function terminalText(page) {
  return page.evaluate(() => [...document.querySelectorAll('.xterm-rows > div')].map((r) => r.textContent.replace(/\u00a0/g, ' ')).join('\n'))
}

async function waitForTerminal(page, needle, timeout = 20000) {
  const end = Date.now() + timeout
  let last = ''
  while (Date.now() < end) {
    last = await terminalText(page)
    if (typeof needle === 'string' ? last.includes(needle) : needle.test(last)) return last
    await page.waitForTimeout(100)
  }
  throw new Error(`the terminal never showed ${needle}; it shows:\n${last}`)
}

let agentRuns = false

before(async () => {
  dir = tempDir('vibecode-e2e-')
  ensureResults()
  provider = await startFakeProvider()
  const bin = await buildStack(dir)
  stack = await startStack({ bin, dataDir: join(dir, 'data'), env: { OPENAI_API_KEY: 'sk-e2e', OPENAI_BASE_URL: provider.url } })
  base = stack.base
  browser = await launchBrowser()
  ctxA = await newContext(browser, 'A')
}, { timeout: 240_000 })

after(async () => {
  writeFileSync(join(ensureResults(), 'timing.json'), JSON.stringify(timing, null, 2) + '\n')
  await browser?.close()
  await stack?.stop()
  await provider?.close()
  if (dir) cleanup(dir)
})

describe('web IDE on the local stack', { concurrency: false }, () => {
  let page
  let n = 0
  // Each step's last view, for diagnosing a failure (web/test-results is not committed).
  afterEach(async () => {
    n++
    await page?.screenshot({ path: join(ensureResults(), `step-${n}.png`) }).catch(() => {})
  })

  test('sign up and onboard', async () => {
    page = await ctxA.newPage()
    // "Leave the page?" (shown while a buffer is unsaved) is answered like a user who leaves.
    page.on('dialog', (d) => void d.accept())
    const res = await page.goto(base + '/')
    // The IDE runs under the server's CSP (no inline scripts, no eval); violations would show
    // in the console, which the last test checks.
    assert.match(res.headers()['content-security-policy'], /script-src 'self';/)
    await page.waitForURL(/\/login/)
    await page.getByRole('link', { name: 'Create an account' }).click()
    await page.getByLabel('Name').fill('Ada Lovelace')
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill('correct horse battery')
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: /Step 1 of 7: Choose a theme/ }).waitFor()
    await page.getByText('Dark', { exact: true }).click()
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark')
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByRole('heading', { name: /Step 2 of 7/ }).waitFor()
    await page.getByLabel('New workspace name').fill('e2e-project')
    await page.getByRole('button', { name: 'Create workspace' }).click()
    await page.getByRole('heading', { name: /Step 3 of 7/ }).waitFor()
    // Resumable: a reload comes back to the same step.
    await page.reload()
    await page.getByRole('heading', { name: /Step 3 of 7/ }).waitFor()
    await page.getByLabel('Go').check()
    await page.getByText('gopls (recommended)').waitFor()
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByRole('heading', { name: /Step 4 of 7: AI provider/ }).waitFor()
    await page.getByRole('cell', { name: 'openai' }).waitFor() // the provider from OPENAI_BASE_URL
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByRole('button', { name: 'Skip this step' }).click() // integrations
    await page.getByRole('button', { name: 'Continue' }).click() // CLI tools
    await page.getByRole('heading', { name: /Step 7 of 7: All set/ }).waitFor()
    await page.getByRole('button', { name: 'Open my workspace' }).click()
    await page.waitForURL(/\/w\/[0-9a-f]{32}$/)
    workspaceId = page.url().split('/w/')[1]
    await page.locator('.ide').waitFor()
    const ob = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith('vibecode.onboarding.'))[1])
    const state = JSON.parse(ob)
    assert.equal(state.finished, true)
    assert.equal(state.status.integrations, 'skipped')
    assert.equal(state.answers.theme, 'dark')
  })

  test('create and edit a file, reload and see it saved', async () => {
    await page.keyboard.press('Alt+n')
    const dialog = page.getByRole('dialog', { name: 'New file' })
    await dialog.getByRole('textbox').fill('mathx/primes.go')
    await dialog.getByRole('button', { name: 'Create' }).click()
    await page.getByRole('tab', { name: 'primes.go' }).waitFor()
    await focusEditor(page)
    await paste(page, PRIMES_GO)
    await waitForEditorText(page, 'func IsPrime(n int) bool {')
    await page.keyboard.press('Control+s')
    await page.getByTestId('save-state').filter({ hasText: /^Saved$/ }).waitFor()
    const r = await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/mathx/primes.go`)
    assert.equal(r.status, 200)
    assert.equal(r.text, PRIMES_GO)
    // Whether the workspace agent runs (terminals, live collaboration) decides the later tests.
    agentRuns = (await apiFromPage(page, 'POST', `/api/workspaces/${workspaceId}/start`, {})).status === 200
    await page.reload()
    await page.getByRole('tab', { name: 'primes.go' }).waitFor()
    await waitForEditorText(page, 'func IsPrime(n int) bool {')
    await page.getByRole('treeitem', { name: /primes\.go/ }).waitFor()
    await page.getByTestId('save-state').filter({ hasText: /^Saved$/ }).waitFor()
    const text = await editorText(page)
    assert.equal(text.split('func IsPrime').length, 2, 'the content is not duplicated')
  })

  test('search finds a function by a description of it', async () => {
    for (const [p, content] of Object.entries(DISTRACTORS)) {
      const r = await apiFromPage(page, 'PUT', `/api/workspaces/${workspaceId}/files/${p}`, content)
      assert.ok(r.status === 201 || r.status === 200, `PUT ${p}: ${r.status}`)
    }
    await page.keyboard.press('Control+Shift+F')
    await page.getByRole('searchbox', { name: 'Search query' }).waitFor()
    // The index status shows progress while files are pending, then the total.
    await page.locator('.search .index-status').filter({ hasText: /Indexed 5 files/ }).waitFor({ timeout: 60_000 })
    const st = await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/index`)
    assert.equal(st.json.pending, 0)
    await page.getByRole('searchbox', { name: 'Search query' }).fill('check whether a number is prime')
    await page.keyboard.press('Enter')
    const first = page.locator('.results .result-file').first()
    await first.waitFor()
    assert.equal(await first.locator('.result-path').textContent(), 'mathx/primes.go')
    await first.locator('button.result').first().click()
    await page.getByRole('tab', { name: 'primes.go', selected: true }).waitFor()
    await waitForEditorText(page, 'IsPrime')
  })

  test('file tree: rename with F2, move by drag and drop, delete', async () => {
    await page.keyboard.press('Control+Shift+E')
    await page.getByRole('button', { name: 'Refresh the file list' }).click()
    await page.getByRole('treeitem', { name: 'strings' }).click()
    const item = page.getByRole('treeitem', { name: /reverse\.go/ })
    await item.click()
    await page.keyboard.press('F2')
    const dlg = page.getByRole('dialog', { name: /Rename reverse\.go/ })
    await dlg.getByRole('textbox').fill('rev.go')
    await dlg.getByRole('button', { name: 'Rename' }).click()
    await page.getByRole('treeitem', { name: /rev\.go/ }).waitFor()
    assert.equal((await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/strings/rev.go`)).status, 200)
    assert.equal((await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/strings/reverse.go`)).status, 404)
    // Drag the file onto the "server" folder.
    await page.getByRole('treeitem', { name: /rev\.go/ }).dragTo(page.getByRole('treeitem', { name: 'server' }))
    await page.getByText('Moved strings/rev.go to server/rev.go.').waitFor()
    await page.waitForTimeout(300)
    const listing = await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files`)
    assert.deepEqual(listing.json.files.map((f) => f.path).filter((p) => p.endsWith('rev.go')), ['server/rev.go'])
    assert.equal((await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/server/rev.go`)).status, 200)
    // Delete it with the Delete key and a confirmation (the tree shows where it moved).
    await page.getByRole('treeitem', { name: /rev\.go/ }).click()
    assert.equal(await page.getByRole('treeitem', { name: /rev\.go/ }).getAttribute('data-path'), 'server/rev.go')
    await page.keyboard.press('Delete')
    await page.getByRole('dialog', { name: 'Delete file' }).getByRole('button', { name: 'Delete' }).click()
    await page.getByText('Deleted server/rev.go.').waitFor()
    assert.equal((await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/server/rev.go`)).status, 404)
  })

  test('binary files and files too large to open are shown as such', async () => {
    const png = await page.evaluate(async (ws) => {
      const t = JSON.parse(localStorage.getItem('vibecode.session')).token
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])
      const big = 'x'.repeat(6 * 1024 * 1024)
      const h = { Authorization: `Bearer ${t}` }
      const a = await fetch(`/api/workspaces/${ws}/files/assets/logo.png`, { method: 'PUT', headers: h, body: bytes })
      const b = await fetch(`/api/workspaces/${ws}/files/logs/big.log`, { method: 'PUT', headers: h, body: big })
      return [a.status, b.status]
    }, workspaceId)
    assert.deepEqual(png, [201, 201])
    await page.keyboard.press('Control+p')
    await page.getByRole('combobox', { name: 'Go to file' }).fill('logo.png')
    await page.getByRole('option', { name: /logo\.png/ }).first().waitFor()
    await page.keyboard.press('Enter')
    await page.getByText(/logo\.png is a binary file/).waitFor()
    await page.getByRole('img', { name: 'Preview of logo.png' }).waitFor()
    await page.keyboard.press('Control+p')
    await page.getByRole('combobox', { name: 'Go to file' }).fill('big.log')
    await page.getByRole('option', { name: /big\.log/ }).first().waitFor()
    await page.keyboard.press('Enter')
    await page.getByText(/big\.log is 6\.0 MB: too large to open in the editor/).waitFor()
    // Close both tabs again (Alt+W closes the active editor).
    await page.keyboard.press('Alt+w')
    await page.getByRole('tab', { name: 'logo.png', selected: true }).waitFor()
    await page.keyboard.press('Alt+w')
    await page.getByRole('tab', { name: 'logo.png' }).waitFor({ state: 'detached' })
  })

  test('a save conflict is shown and resolved without losing text', async () => {
    // Saves with If-Match (and so conflicts) are the files-API path: the IDE edits a file that
    // way when it has no workspace agent. With one, file sync puts every file on the workspace
    // disk and the IDE edits it live (saved without a precondition). So this page gets a server
    // that runs no agent (/start answers 404) until the test ends. Someone else changes the file
    // after it was opened.
    const noAgent = '**/api/workspaces/*/start'
    await page.route(noAgent, (r) => r.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no agent here"}}' }))
    await page.reload()
    await page.locator('.ide').waitFor()
    await page.keyboard.press('Control+p')
    await page.getByRole('combobox', { name: 'Go to file' }).fill('users.py')
    await page.getByRole('option', { name: /users\.py/ }).first().waitFor()
    await page.keyboard.press('Enter')
    await page.getByRole('tab', { name: 'users.py', selected: true }).waitFor()
    await waitForEditorText(page, 'def load_users')
    assert.equal(await page.getByTestId('collab-state').count(), 0, 'edited on the files API, not live')
    const cur = await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/db/users.py`)
    const put = await apiFromPage(page, 'PUT', `/api/workspaces/${workspaceId}/files/db/users.py`, cur.text + '# changed elsewhere\n', { 'If-Match': cur.etag })
    assert.equal(put.status, 200)
    await focusEditor(page)
    await page.keyboard.press('Control+End')
    await paste(page, '# mine\n')
    await page.getByTestId('save-state').filter({ hasText: 'Unsaved changes' }).waitFor()
    await page.keyboard.press('Control+s')
    const dlg = page.getByRole('dialog', { name: /Save conflict/ })
    await dlg.waitFor()
    await page.getByTestId('save-state').filter({ hasText: 'Save conflict' }).waitFor()
    await dlg.getByRole('button', { name: 'Compare' }).click()
    await page.getByTestId('conflict-diff').locator('.monaco-diff-editor').waitFor()
    await dlg.getByRole('button', { name: 'Keep mine' }).click()
    await dlg.waitFor({ state: 'detached' })
    await page.getByTestId('save-state').filter({ hasText: /^Saved$/ }).waitFor()
    const after = await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/db/users.py`)
    assert.match(after.text, /# mine/)
    assert.doesNotMatch(after.text, /changed elsewhere/)
    // Back to the real server (with its agent) for the next tests.
    await page.unroute(noAgent)
    await page.reload()
    await page.getByRole('tab', { name: 'users.py', selected: true }).waitFor()
    await waitForEditorText(page, '# mine')
  })

  test('edits made while the server is unreachable are kept and saved when it is back', async () => {
    await page.getByRole('tab', { name: 'users.py' }).click()
    await waitForEditorText(page, 'def load_users')
    await focusEditor(page)
    await page.keyboard.press('Control+End')
    await ctxA.setOffline(true)
    await paste(page, '# written offline\n')
    await page.keyboard.press('Control+s')
    await page.getByRole('alert').filter({ hasText: 'Connection to the VibeCode server lost' }).waitFor()
    await page.getByTestId('save-state').filter({ hasText: 'Not saved (offline)' }).waitFor()
    // The unsaved text is in this browser's storage (it survives a crash or a closed tab).
    await page.waitForTimeout(600)
    const stored = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.startsWith('vibecode.buf.') && k.endsWith('db/users.py'))?.[1])
    assert.match(JSON.parse(stored).text, /# written offline/)
    await ctxA.setOffline(false)
    await page.getByTestId('save-state').filter({ hasText: /^Saved$/ }).waitFor()
    const r = await apiFromPage(page, 'GET', `/api/workspaces/${workspaceId}/files/db/users.py`)
    assert.match(r.text, /# written offline/)
    assert.equal(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('vibecode.buf.') && k.endsWith('db/users.py'))), false)
  })

  test('chat answers through the fake provider, with citations that open the file', async () => {
    await page.keyboard.press('Control+Alt+i')
    const chat = page.getByRole('complementary', { name: 'AI chat' })
    await chat.waitFor()
    await chat.getByLabel('Message').fill('Where is the prime check?')
    await chat.getByRole('button', { name: 'Send' }).click()
    const answer = chat.getByTestId('msg-assistant').last()
    await answer.getByText(/The prime check is/).waitFor({ timeout: 30_000 })
    const cite = answer.locator('a.cite').first()
    await cite.waitFor()
    assert.match(await cite.textContent(), /mathx\/primes\.go:\d+-\d+/)
    await page.getByRole('tab', { name: 'app.ts' }).waitFor({ state: 'detached' }).catch(() => {})
    await cite.click()
    await page.getByRole('tab', { name: 'primes.go', selected: true }).waitFor()
    // General chat streams too, with a code block that can be copied or inserted.
    await chat.getByText('General', { exact: true }).click()
    await chat.getByLabel('Message').fill('Say hello')
    await chat.getByRole('button', { name: 'Send' }).click()
    await chat.getByTestId('msg-assistant').last().getByText('Hello from the fake provider.').waitFor({ timeout: 30_000 })
    await chat.getByTestId('msg-assistant').last().getByRole('button', { name: 'Copy' }).waitFor()
    assert.ok(provider.requests.some((r) => r.path.endsWith('/chat/completions')))
  })

  test('inline completion and review of the selection go through the AI gateway', async () => {
    await page.getByRole('tab', { name: 'users.py' }).click()
    await focusEditor(page)
    await page.keyboard.press('Control+End')
    // Monacopilot asks /api/ai/complete after a pause in typing; the answer shows as ghost text.
    const completion = page.waitForResponse((r) => r.url().endsWith('/api/ai/complete') && r.status() === 200, { timeout: 15_000 })
    await page.keyboard.type('def is_even(n):\n')
    const body = await (await completion).json()
    assert.match(body.completion, /return n % 2 == 0/)
    await page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text').first().waitFor({ timeout: 10_000 })
    await page.keyboard.press('Escape')
    // Review the whole file (no selection) from the command palette.
    await page.keyboard.press('Control+Shift+P')
    await page.getByRole('combobox', { name: 'Command palette' }).fill('>review')
    await page.getByRole('option', { name: /AI: Review the Selection/ }).waitFor()
    await page.keyboard.press('Enter')
    const chat = page.getByRole('complementary', { name: 'AI chat' })
    await chat.getByText('Review the selection in db/users.py').waitFor()
    await chat.getByTestId('msg-assistant').last().getByText('Hello from the fake provider.').waitFor({ timeout: 30_000 })
    assert.ok(provider.requests.some((r) => JSON.stringify(r.body).includes('load_users')))
    // Undo the typing so the file stays as saved.
    await page.getByRole('tab', { name: 'users.py' }).click()
    await focusEditor(page)
    for (let i = 0; i < 10 && !/^Saved$/.test(await page.getByTestId('save-state').textContent()); i++) await page.keyboard.press('Control+z')
    await page.getByTestId('save-state').filter({ hasText: /^Saved$/ }).waitFor()
  })

  test('settings show the theme, the configured provider and AI usage with cost', async () => {
    await page.keyboard.press('Control+,')
    const dlg = page.getByRole('dialog', { name: 'Settings' })
    await dlg.waitFor()
    await dlg.getByRole('cell', { name: 'openai' }).first().waitFor()
    const requests = Number(await dlg.locator('.stats div').filter({ hasText: 'Requests' }).locator('dd').textContent())
    assert.ok(requests >= 2, `usage counts the chat requests (${requests})`)
    await dlg.getByText('Light', { exact: true }).click()
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light')
    await dlg.getByText('Dark', { exact: true }).click()
    await dlg.getByRole('button', { name: 'Close' }).click()
  })

  test('run a command in a terminal and read its output; it survives a reload', async (t) => {
    if (!agentRuns) return t.skip('the local stack runs no workspace agent')
    await page.keyboard.press('Control+`')
    const panel = page.getByRole('region', { name: 'Terminal' })
    await panel.waitFor()
    await page.getByTestId('terminal').locator('.xterm').waitFor()
    await page.locator('[data-testid=terminal][data-status=connected]').waitFor()
    await waitForTerminal(page, /[$#] *$/m) // a shell prompt
    await page.getByTestId('terminal').click()
    // A short prompt: the data dir's long path would wrap it, and readline redraws a wrapped
    // prompt over the line above it when the terminal is resized (as in any terminal).
    await page.keyboard.type("PS1='$ '\n")
    await page.keyboard.type('echo vibe-$((6*7))\n')
    await waitForTerminal(page, 'vibe-42')
    // A second tab, then back; resize by hiding and showing the panel.
    await panel.getByRole('button', { name: 'New terminal' }).click()
    await panel.getByRole('tab', { name: /Terminal 2/ }).waitFor()
    await panel.getByRole('tab', { name: /Terminal 1/ }).click()
    // Reload: the terminal reconnects to the same shell and gets its scrollback back.
    await page.reload()
    await page.locator('.ide').waitFor()
    await page.keyboard.press('Control+`')
    await page.getByTestId('terminal').first().locator('.xterm').waitFor()
    await waitForTerminal(page, 'vibe-42')
    await page.keyboard.press('Control+`')
  })

  test('two browser contexts co-edit one file and see each other', async (t) => {
    if (!agentRuns) return t.skip('the local stack runs no workspace agent')
    // The API has no workspace sharing, so the second participant is the owner's second
    // session, in a separate browser context (its own storage: no BroadcastChannel shortcut).
    const ctxB = await newContext(browser, 'B')
    const pageB = await ctxB.newPage()
    await pageB.goto(base + '/login')
    await pageB.getByLabel('Email').fill(email)
    await pageB.getByLabel('Password').fill('correct horse battery')
    await pageB.getByRole('button', { name: 'Log in' }).click()
    await pageB.waitForURL(/\/$|\/welcome/)
    await pageB.goto(`${base}/w/${workspaceId}`)
    await pageB.locator('.ide').waitFor()
    for (const p of [page, pageB]) {
      await p.keyboard.press('Control+p')
      await p.getByRole('combobox', { name: 'Go to file' }).fill('primes.go')
      await p.getByRole('option', { name: /primes\.go/ }).first().waitFor()
      await p.keyboard.press('Enter')
      await p.getByRole('tab', { name: 'primes.go', selected: true }).waitFor()
      await p.getByTestId('collab-state').filter({ hasText: 'Live: synced' }).waitFor()
    }
    await focusEditor(page)
    await page.keyboard.press('Control+End')
    await paste(page, '// typed in A\n')
    await focusEditor(pageB)
    await pageB.keyboard.press('Control+Home')
    await paste(pageB, '// typed in B\n')
    await waitForEditorText(page, '// typed in B')
    await waitForEditorText(pageB, '// typed in A')
    // Each sees the other's cursor (a remote selection head with the other's name) and presence.
    await page.locator('.monaco-editor .yRemoteSelectionHead').first().waitFor()
    await pageB.locator('.monaco-editor .yRemoteSelectionHead').first().waitFor()
    const label = await pageB.evaluate(() => {
      const el = document.querySelector('.monaco-editor .yRemoteSelectionHead')
      return getComputedStyle(el, '::after').content
    })
    assert.match(label, /Ada Lovelace/)
    assert.equal(await page.getByTestId('presence').locator('.avatar').count(), 2)
    const a = await editorText(page)
    const b = await editorText(pageB)
    assert.equal(a, b)
    assert.equal(a.split('func IsPrime').length, 2, 'no duplicated content')
    await pageB.screenshot({ path: join(ensureResults(), 'collab-b.png') })
    await ctxB.close()
    assert.deepEqual(unexpected(ctxB.problems), [])
  })

  test('the IDE loads fast and looks right (screenshot kept)', async () => {
    // A cold first load of the IDE in a new context: no cache, fresh storage but the session.
    const session = await page.evaluate(() => localStorage.getItem('vibecode.session'))
    const ctx = await newContext(browser, 'cold')
    await ctx.addInitScript((s) => {
      try { if (!localStorage.getItem('vibecode.session')) localStorage.setItem('vibecode.session', s) } catch { /* about:blank */ }
    }, session)
    const cold = await ctx.newPage()
    const t0 = Date.now()
    await cold.goto(`${base}/w/${workspaceId}?open=mathx/primes.go`)
    await cold.getByRole('treeitem', { name: /primes\.go/ }).waitFor()
    await waitForEditorText(cold, 'func IsPrime')
    const wall = Date.now() - t0
    const nav = await cold.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0]
      const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('vc:')).map((m) => [m.name.slice(3), Math.round(m.startTime)]))
      return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd), transferKB: Math.round(performance.getEntriesByType('resource').reduce((a, r) => a + (r.transferSize || 0), n.transferSize || 0) / 1024), marks, fileShown: Math.round(performance.now()) }
    })
    timing.firstLoad = { ...nav, wallMs: wall, note: 'cold context, /w/<id>?open=<file> until the file text shows in Monaco; ms since navigation start' }
    await cold.close()
    await ctx.close()
    assert.deepEqual(unexpected(ctx.problems), [])

    await page.setViewportSize({ width: 1400, height: 860 })
    await page.keyboard.press('Control+Shift+E')
    await page.getByRole('treeitem', { name: /primes\.go/ }).click()
    if (agentRuns) {
      await page.keyboard.press('Control+`')
      await waitForTerminal(page, 'vibe-42')
    }
    await page.keyboard.press('Control+Alt+i')
    const chat = page.getByRole('complementary', { name: 'AI chat' })
    await chat.getByLabel('Message').fill('Where is the prime check?')
    await chat.getByRole('button', { name: 'Send' }).click()
    await chat.getByTestId('msg-assistant').last().locator('a.cite').first().waitFor({ timeout: 30_000 })
    await page.getByRole('tab', { name: 'primes.go', selected: true }).waitFor()
    await focusEditor(page)
    await page.screenshot({ path: join(ensureResults(), 'ide.png') })
  })

  test('import a .tar.gz into a new workspace with upload progress', async () => {
    const archive = await tarGz({ 'proj/README.md': '# Imported\n', 'proj/src/util.ts': 'export const answer = 42\n' })
    await page.goto(base + '/')
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor()
    await page.getByTestId('import-input').setInputFiles({ name: 'imported-project.tar.gz', mimeType: 'application/gzip', buffer: archive })
    await page.waitForURL(/\/w\/[0-9a-f]{32}$/)
    await page.getByText(/Imported 2 files/).waitFor()
    await page.getByRole('treeitem', { name: 'README.md' }).waitFor()
    await page.getByRole('treeitem', { name: 'src' }).waitFor()
    assert.match(await page.locator('.ws-title').textContent(), /imported-project/)
  })

  test('an expired access token is refreshed (rotating the refresh token); an ended session leads back to login', async () => {
    const p = await ctxA.newPage()
    await p.goto(base + '/')
    await p.getByRole('heading', { name: 'Workspaces' }).waitFor()
    const before = await p.evaluate(() => JSON.parse(localStorage.getItem('vibecode.session')))
    await p.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('vibecode.session'))
      s.token = 'expired.' + s.token
      localStorage.setItem('vibecode.session', JSON.stringify(s))
    })
    await p.reload()
    await p.getByRole('link', { name: 'e2e-project' }).waitFor()
    const after = await p.evaluate(() => JSON.parse(localStorage.getItem('vibecode.session')))
    assert.notEqual(after.refresh_token, before.refresh_token, 'the refresh token rotated')
    assert.notEqual(after.token, 'expired.' + before.token)
    await p.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('vibecode.session'))
      s.token = 'expired.' + s.token
      s.refresh_token = 'rt_revoked'
      localStorage.setItem('vibecode.session', JSON.stringify(s))
    })
    await p.goto(`${base}/w/${workspaceId}`)
    await p.waitForURL(/\/login\?next=/)
    await p.getByText('Your session has expired. Please log in again.').waitFor()
    await p.getByLabel('Email').fill(email)
    await p.getByLabel('Password').fill('correct horse battery')
    await p.getByRole('button', { name: 'Log in' }).click()
    await p.waitForURL(new RegExp(`/w/${workspaceId}$`))
    await p.close()
  })

  test('no CSP violations or script errors', () => {
    assert.deepEqual(unexpected(ctxA.problems), [])
  })
})
