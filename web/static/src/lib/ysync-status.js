// Tracks whether this tab's edits are stored on the server ("saved") for a y-websocket provider.
//
// The CityHub server acknowledges every sync step 2 / update message of a connection, after storing it,
// with a message of type 100 carrying the count of such messages it has handled on this connection, once the
// connection asked for that by sending a message of type 100 itself (stock y-websocket clients do not ask and
// get none). The tab counts the step 2 / update messages it sends on the same connection; saved means "all
// acknowledged".
import * as decoding from 'lib0/decoding'

export const MSG_STORED = 100

/** Close codes after which reconnecting cannot help (docs/documents.md). */
export const PERMANENT_CLOSE = new Set([4400, 4401, 4403, 4413, 4414])

export function trackSaved (provider, onChange) {
  let sent = 0
  let acked = 0
  let closed = null
  let status = 'connecting'

  const emit = () => {
    let state
    if (closed !== null) state = 'error'
    else if (status !== 'connected') state = status === 'connecting' ? 'connecting' : 'offline'
    else if (!provider.synced) state = 'syncing'
    else state = acked >= sent ? 'saved' : 'saving'
    onChange({ state, closed, pending: Math.max(0, sent - acked) })
  }

  provider.messageHandlers[MSG_STORED] = (_encoder, decoder) => {
    acked = decoding.readVarUint(decoder)
    emit()
  }

  provider.on('status', ({ status: s }) => {
    status = s
    if (s === 'connected' && provider.ws) {
      sent = 0
      acked = 0
      const ws = provider.ws
      const send = ws.send.bind(ws)
      send(new Uint8Array([MSG_STORED])) // before our step 2: every one of them is acknowledged
      ws.send = (data) => {
        const bytes = data instanceof Uint8Array ? data : new Uint8Array(data)
        // messageSync (0) followed by syncStep2 (1) or update (2)
        if (bytes[0] === 0 && (bytes[1] === 1 || bytes[1] === 2)) {
          sent++
          emit()
        }
        send(data)
      }
    }
    emit()
  })
  provider.on('sync', emit)
  provider.on('closed', ({ code, reason }) => {
    closed = { code, reason }
    emit()
  })
  emit()
}
