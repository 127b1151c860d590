// Two stock y-websocket providers (npm y-websocket with ws, as any third-party Yjs client connects) against the
// hub: they sync, converge, share awareness, and log nothing. Run by tests/docs/test_stock_clients.py:
//   node tests/docs/stock_clients.mjs <ws base, e.g. ws://127.0.0.1:8080> <doc id> <token A> <token B>
// prints one JSON line: {"a": text, "b": text, "awareness": [n, n], "logged": [...]}.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [base, docId, tokenA, tokenB] = process.argv.slice(2)
const logged = []
for (const level of ['error', 'warn', 'log']) {
  const original = console[level]
  console[level] = (...args) => { logged.push(`${level}: ${args.join(' ')}`); original(...args) }
}

// A bearer token in the handshake's headers: tokens never travel in URLs.
const socketWith = (token) => class extends WebSocket {
  constructor (url, protocols) { super(url, protocols, { headers: { Authorization: `Bearer ${token}` } }) }
}

function open (token, name) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${base}/docs`, `${docId}/ws`, doc,
    { WebSocketPolyfill: socketWith(token), disableBc: true })
  provider.awareness.setLocalStateField('user', { name })
  return { doc, provider }
}

async function until (check, what, ms = 10000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const a = open(tokenA, 'A')
const b = open(tokenB, 'B')
try {
  await until(() => a.provider.synced && b.provider.synced, 'sync')
  a.doc.getText('t').insert(0, 'hello ')
  b.doc.getText('t').insert(0, 'world')
  const text = (side) => side.doc.getText('t').toString()
  await until(() => text(a).length === 11 && text(a) === text(b), 'convergence')
  await until(() => a.provider.awareness.getStates().size === 2 && b.provider.awareness.getStates().size === 2,
    'awareness')
  await new Promise((resolve) => setTimeout(resolve, 500)) // anything the hub sends after the edits arrives
  console.info(JSON.stringify({
    a: text(a), b: text(b), awareness: [a.provider.awareness.getStates().size, b.provider.awareness.getStates().size],
    logged
  }))
} finally {
  a.provider.destroy()
  b.provider.destroy()
}
process.exit(0)
