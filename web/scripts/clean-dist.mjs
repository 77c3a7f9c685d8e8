// Empties web/dist before a build, keeping the committed placeholder (dist/.placeholder).
import { readdirSync, rmSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
const dist = new URL('../dist/', import.meta.url).pathname
mkdirSync(dist, { recursive: true })
for (const name of readdirSync(dist)) {
  if (name === '.placeholder') continue
  rmSync(join(dist, name), { recursive: true, force: true })
}
