import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Plugin } from 'vite'

const monacoESM = fileURLToPath(new URL('./node_modules/monaco-editor/esm/vs/', import.meta.url))

// precompress writes a .gz beside every compressible asset so the Go server can send it to
// browsers that accept gzip (the embedded files are served as they are, never compressed on the fly).
function precompress(): Plugin {
  let outDir = 'dist'
  return {
    name: 'vibecode-precompress',
    apply: 'build',
    enforce: 'post',
    configResolved(c) {
      outDir = c.build.outDir
    },
    // After the files are written (the bundle's final text: preload lists and hashes filled in).
    writeBundle(_opts, bundle) {
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg|json|ttf|map)$/.test(name)) continue
        const file = join(outDir, name)
        const buf = readFileSync(file)
        if (buf.length < 1024) continue
        const gz = gzipSync(buf, { level: 9 })
        if (gz.length < buf.length * 0.9) writeFileSync(file + '.gz', gz)
      }
    },
  }
}

export default defineConfig({
  // index.html asks for /assets/... from any SPA route (/w/<id>), so the base is absolute.
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: [
      // y-monaco and monacopilot import Monaco's editor API by its pre-0.56 deep path, which
      // monaco-editor's exports map no longer resolves; point it at the same file the app uses,
      // so there is one Monaco instance and not the whole monaco-editor entry (every language).
      { find: /^monaco-editor\/esm\/vs\/(.*?)(\.js)?$/, replacement: monacoESM + '$1.js' },
    ],
  },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    // dist/.placeholder (committed, embedded when nothing is built) must survive a build;
    // scripts/clean-dist.mjs empties the rest first.
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  plugins: [precompress()],
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
} as any)
