// The browser side of /ws (docs/signaling.md): requests with ids and results, pushed events,
// and reconnection with backoff. The session cookie authenticates the socket (same origin).

import { onRenewal, trackSession } from './session.js'

export class SignalingError extends Error {
  constructor (code, message, data = {}) {
    super(`${code}: ${message}`)
    this.code = code
    this.data = data
  }
}

const RECONNECT_MIN_MS = 500
const RECONNECT_MAX_MS = 15000
// Close codes after which reconnecting cannot help (docs/signaling.md).
const FINAL_CLOSE_CODES = new Set([4001, 4003])

export class Signaling extends EventTarget {
  constructor ({ url = defaultUrl(), requestTimeoutMs = 15000 } = {}) {
    super()
    this.url = url
    this.requestTimeoutMs = requestTimeoutMs
    this.ws = null
    this.nextId = 1
    this.pending = new Map()
    this.attempt = 0
    this.stopped = false
    this.me = null
    this.state = 'idle'
    this._stopRenewal = () => {}
  }

  // Connects and keeps reconnecting until stop(); resolves once the first authenticated hello arrives.
  start () {
    this.stopped = false
    this._stopRenewal()
    // A renewal refused here needs nothing more: the server closes the socket with 4003 (revoked), or at expiry
    // with 4001, and the page says so.
    this._stopRenewal = onRenewal((token) => {
      if (this.state === 'open') this.request('auth.renew', { token }).catch(() => {})
    })
    return new Promise((resolve, reject) => {
      const onReady = () => { this.removeEventListener('fatal', onFatal); resolve(this.me) }
      const onFatal = (e) => { this.removeEventListener('ready', onReady); reject(e.detail) }
      this.addEventListener('ready', onReady, { once: true })
      this.addEventListener('fatal', onFatal, { once: true })
      this._open()
    })
  }

  stop () {
    this.stopped = true
    this._stopRenewal()
    clearTimeout(this._retryTimer)
    if (this.ws) this.ws.close(1000, 'bye')
  }

  _setState (state) {
    this.state = state
    this.dispatchEvent(new CustomEvent('state', { detail: state }))
  }

  _open () {
    this._setState(this.attempt === 0 ? 'connecting' : 'reconnecting')
    const ws = new WebSocket(this.url)
    this.ws = ws
    ws.addEventListener('message', (e) => this._onMessage(e.data))
    ws.addEventListener('close', (e) => this._onClose(ws, e))
  }

  _onMessage (text) {
    let message
    try { message = JSON.parse(text) } catch { return }
    if (message.type === 'result') {
      const waiter = this.pending.get(message.id)
      if (!waiter) return
      this.pending.delete(message.id)
      clearTimeout(waiter.timer)
      if (message.success) waiter.resolve(message.result)
      else waiter.reject(new SignalingError(message.error.code, message.error.message, message.error))
      return
    }
    if (message.type !== 'event') return
    if (message.event === 'hello') {
      if (!message.data.authenticated) {
        this._fatal(new SignalingError('authentication_required', 'sign in again'))
        return
      }
      const reconnected = this.attempt > 0
      this.attempt = 0
      this.me = message.data.me
      trackSession(this.me.expires_at)
      this._setState('open')
      this.dispatchEvent(new CustomEvent(reconnected ? 'reconnected' : 'ready', { detail: this.me }))
      if (!reconnected) return
    }
    this.dispatchEvent(new CustomEvent(message.event, { detail: message.data }))
    // Every pushed event also as one generic 'any' event ({event, data}), for code that follows them all.
    this.dispatchEvent(new CustomEvent('any', { detail: { event: message.event, data: message.data } }))
  }

  _fatal (error) {
    this.stopped = true
    this._setState('closed')
    this.dispatchEvent(new CustomEvent('fatal', { detail: error }))
    if (this.ws) this.ws.close(1000)
  }

  _onClose (ws, event) {
    if (ws !== this.ws) return
    for (const [, waiter] of this.pending) {
      clearTimeout(waiter.timer)
      waiter.reject(new SignalingError('disconnected', 'the connection dropped'))
    }
    this.pending.clear()
    if (FINAL_CLOSE_CODES.has(event.code)) {
      this._fatal(new SignalingError(event.code === 4003 ? 'revoked' : 'authentication_required', event.reason))
      return
    }
    if (this.stopped) { this._setState('closed'); return }
    this._setState('reconnecting')
    this.dispatchEvent(new CustomEvent('disconnected', { detail: { code: event.code } }))
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt) * (0.75 + Math.random() / 2)
    this.attempt += 1
    this._retryTimer = setTimeout(() => this._open(), delay)
  }

  // Sends a request and resolves with its result, or rejects with a SignalingError.
  request (type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SignalingError('disconnected', 'not connected'))
    }
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new SignalingError('timeout', `${type} got no answer`))
      }, this.requestTimeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      this.ws.send(JSON.stringify({ ...fields, id, type }))
    })
  }

  on (event, handler) {
    this.addEventListener(event, (e) => handler(e.detail))
  }
}

export function defaultUrl () {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/ws`
}
