// The shared-document editor: TipTap bound to a Yjs document synced with /docs/{id}/ws.
// Pages call mountEditor(element, {docId, user, readOnly, strings}); page chrome stays in the page.
import { Editor } from '@tiptap/core'
import Collaboration from '@tiptap/extension-collaboration'
import CollaborationCaret from '@tiptap/extension-collaboration-caret'
import { TableKit } from '@tiptap/extension-table'
import StarterKit from '@tiptap/starter-kit'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

import './prosemirror-base.css'
import './editor.css'
import { docRenewalMessage, onRenewal, trackSessionOfPage } from './lib/session.js'
import { trackSaved } from './lib/ysync-status.js'

const DEFAULT_STRINGS = {
  connecting: 'Connecting…',
  offline: 'Offline – changes are kept in this tab',
  syncing: 'Syncing…',
  saving: 'Saving…',
  saved: 'All changes saved',
  error: 'Disconnected',
  readOnly: 'Read only',
  closed: {
    4400: 'The server refused a malformed message.',
    4401: 'Your access to this document was withdrawn.',
    4403: 'You may only read this document.',
    4413: 'That change is too large to be saved.',
    4414: 'The document has reached its maximum size.'
  },
  bold: 'Bold',
  italic: 'Italic',
  heading1: 'H1',
  heading2: 'H2',
  bulletList: '• List',
  orderedList: '1. List',
  table: 'Table',
  undo: 'Undo',
  redo: 'Redo',
  you: 'you'
}

function el (tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

function defaultWsBase () {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${window.location.host}/docs`
}

function buildToolbar (editor, s) {
  const bar = el('div', 'ch-editor-toolbar')
  const buttons = [
    [s.bold, 'bold', () => editor.chain().focus().toggleBold().run()],
    [s.italic, 'italic', () => editor.chain().focus().toggleItalic().run()],
    [s.heading1, ['heading', { level: 1 }], () => editor.chain().focus().toggleHeading({ level: 1 }).run()],
    [s.heading2, ['heading', { level: 2 }], () => editor.chain().focus().toggleHeading({ level: 2 }).run()],
    [s.bulletList, 'bulletList', () => editor.chain().focus().toggleBulletList().run()],
    [s.orderedList, 'orderedList', () => editor.chain().focus().toggleOrderedList().run()],
    [s.table, null, () => editor.chain().focus().insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run()],
    [s.undo, null, () => editor.chain().focus().undo().run()],
    [s.redo, null, () => editor.chain().focus().redo().run()]
  ]
  const active = []
  for (const [label, mark, run] of buttons) {
    const button = el('button', null, label)
    button.type = 'button'
    button.addEventListener('mousedown', (event) => event.preventDefault())
    button.addEventListener('click', run)
    bar.append(button)
    if (mark) active.push([button, mark])
  }
  const refresh = () => {
    for (const [button, mark] of active) {
      const on = Array.isArray(mark) ? editor.isActive(...mark) : editor.isActive(mark)
      button.setAttribute('aria-pressed', on ? 'true' : 'false')
    }
  }
  editor.on('transaction', refresh)
  refresh()
  return bar
}

/**
 * Mount a collaborative editor for document `docId` into `element`.
 * Returns {editor, provider, doc, status(), onStatus(fn), presence(), onPresence(fn), destroy()}.
 */
export function mountEditor (element, { docId, user, readOnly = false, strings = {}, wsBase = defaultWsBase() }) {
  const s = { ...DEFAULT_STRINGS, ...strings, closed: { ...DEFAULT_STRINGS.closed, ...(strings.closed || {}) } }
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(wsBase, `${encodeURIComponent(docId)}/ws`, doc, { disableBc: true })
  // The connection lasts as long as the session: renewed in band before it expires (docs/documents.md).
  trackSessionOfPage()
  const stopRenewal = onRenewal((token) => {
    if (provider.ws && provider.ws.readyState === WebSocket.OPEN) provider.ws.send(docRenewalMessage(token))
  })

  const root = el('div', 'ch-editor')
  const barLine = el('div', 'ch-editor-bar')
  const presenceList = el('ul', 'ch-editor-presence')
  const statusLine = el('span', 'ch-editor-status')
  statusLine.setAttribute('role', 'status')
  statusLine.setAttribute('aria-live', 'polite')
  const content = el('div', 'ch-editor-content')
  root.append(barLine, content)
  element.replaceChildren(root)

  const editor = new Editor({
    element: content,
    editable: !readOnly,
    injectCSS: false, // prosemirror-base.css instead of a <style> element the CSP refuses
    extensions: [
      // Collaboration brings its own (Yjs) undo; a trailing node would be written by every tab at once.
      StarterKit.configure({ undoRedo: false, trailingNode: false }),
      TableKit.configure({ table: { resizable: false } }),
      Collaboration.configure({ document: doc, field: 'default' }),
      CollaborationCaret.configure({
        provider,
        user: { name: user.name, color: user.color },
        // A class per presence colour (editor.css) instead of the default inline style, which the hub's
        // Content-Security-Policy refuses: selections of others would log an error and show no colour.
        selectionRender: (other) => ({
          class: `ProseMirror-yjs-selection ch-sel ch-sel-${String(other.color || '').replace('#', '').toLowerCase()}`
        })
      })
    ]
  })

  if (!readOnly) barLine.append(buildToolbar(editor, s))
  else barLine.append(el('span', 'ch-editor-readonly', s.readOnly))
  barLine.append(presenceList, statusLine)

  const statusListeners = new Set()
  let current = { state: 'connecting', closed: null, pending: 0 }
  trackSaved(provider, (next) => {
    current = next
    let text = s[next.state]
    if (next.state === 'error' && next.closed) text = s.closed[next.closed.code] || `${s.error} (${next.closed.code})`
    statusLine.textContent = text
    statusLine.dataset.state = next.state
    root.dataset.state = next.state
    for (const fn of statusListeners) fn(next)
  })

  const presenceListeners = new Set()
  let people = []
  const renderPresence = () => {
    people = []
    for (const [clientId, state] of provider.awareness.getStates()) {
      if (!state || !state.user) continue
      people.push({ clientId, name: String(state.user.name || ''), color: String(state.user.color || '#888'),
        self: clientId === doc.clientID })
    }
    presenceList.replaceChildren(...people.map((p) => {
      const item = el('li', null, p.self ? `${p.name} (${s.you})` : p.name)
      item.style.backgroundColor = /^#[0-9a-fA-F]{3,8}$/.test(p.color) ? p.color : '#888'
      item.dataset.clientId = String(p.clientId)
      return item
    }))
    for (const fn of presenceListeners) fn(people)
  }
  provider.awareness.on('change', renderPresence)
  renderPresence()

  return {
    editor,
    provider,
    doc,
    status: () => current,
    onStatus: (fn) => { statusListeners.add(fn); return () => statusListeners.delete(fn) },
    presence: () => people,
    onPresence: (fn) => { presenceListeners.add(fn); return () => presenceListeners.delete(fn) },
    destroy () {
      stopRenewal()
      provider.awareness.off('change', renderPresence)
      editor.destroy()
      provider.destroy()
      doc.destroy()
      element.replaceChildren()
    }
  }
}
