// Bundles every top-level module of web/static/src/ (one per page) into web/static/dist/ with esbuild.
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const src = join(here, 'src')
const entryPoints = readdirSync(src, { withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.js'))
  .map((e) => join(src, e.name))

const options = {
  entryPoints,
  outdir: join(here, 'dist'),
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'info',
  // Everything is bundled from npm packages: no network, no CDN, no web fonts at run time.
  loader: { '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty' }
}

if (process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options)
  await ctx.watch()
} else {
  await esbuild.build(options)
}
