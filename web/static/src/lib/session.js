// Keeps a tab's session alive while it is open: a few minutes before the session expires the page renews it
// (POST /api/v1/auth/session/renew: a fresh HttpOnly cookie, and a renewal token the page may see) and hands
// the renewal token to every open socket (/ws `auth.renew`, /docs/{id}/ws MSG_AUTH_RENEW), so a meeting of any
// length goes on without a reconnect. A refused renewal (signed out, deactivated) is left to the sockets:
// they are closed by the server with their documented codes and the page says so.

const RENEW_PATH = '/api/v1/auth/session/renew'
// Renew when this share of the remaining lifetime is left, but at least 30 s and at most 10 min before expiry.
const RENEW_SHARE = 0.2
const RENEW_MIN_S = 30
const RENEW_MAX_S = 600
const RETRY_MS = 15000

const renewers = new Set()
let expiresAt = 0
let timer = null

// The session (seconds since the epoch) lasts until `until`: renew before then. Later calls may only extend it.
export function trackSession (until) {
  if (!Number.isFinite(until) || until <= expiresAt) return
  expiresAt = until
  schedule()
}

// Call fn(renewalToken) after every renewal; returns the function that stops it.
export function onRenewal (fn) {
  renewers.add(fn)
  return () => renewers.delete(fn)
}

// The session of a page without /ws (e.g. the document page): GET /api/v1/me says when it expires.
export async function trackSessionOfPage () {
  try {
    const response = await fetch('/api/v1/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    if (response.ok) trackSession((await response.json()).expires_at)
  } catch { /* offline: the sockets reconnect, and the next page load tracks it */ }
}

function schedule () {
  clearTimeout(timer)
  const left = expiresAt - Date.now() / 1000
  const margin = Math.min(RENEW_MAX_S, Math.max(RENEW_MIN_S, left * RENEW_SHARE))
  timer = setTimeout(renew, Math.max(0, (left - margin) * 1000))
}

async function renew () {
  let response
  try {
    response = await fetch(RENEW_PATH, {
      method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' }
    })
  } catch {
    // The network is away for a moment: try again while the session lasts.
    if (expiresAt > Date.now() / 1000) timer = setTimeout(renew, RETRY_MS)
    return
  }
  if (!response.ok) return
  const body = await response.json()
  expiresAt = body.expires_at
  schedule()
  for (const fn of renewers) {
    try { fn(body.renewal_token) } catch { /* one closed socket does not stop the others */ }
  }
}

// The /docs/{id}/ws message that renews a document connection: varuint 101, varstring token (lib0 encoding).
export function docRenewalMessage (token) {
  const text = new TextEncoder().encode(token)
  const bytes = [101]
  let length = text.length
  while (length > 0x7f) { bytes.push(0x80 | (length & 0x7f)); length >>>= 7 }
  bytes.push(length)
  const message = new Uint8Array(bytes.length + text.length)
  message.set(bytes)
  message.set(text, bytes.length)
  return message
}
