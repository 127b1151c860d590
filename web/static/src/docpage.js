// The document page /docs/{id}: the collaborative editor, who is in the document, versions and rename.
import { mountEditor } from './editor.js'
import { mountVersions, renderPresence } from './lib/docpanel.js'

const data = JSON.parse(document.getElementById('doc-data').textContent)
const s = data.strings

const handle = mountEditor(document.getElementById('doc-editor'), {
  docId: data.docId, user: data.user, readOnly: data.readOnly, strings: s
})
const presence = document.getElementById('doc-presence')
handle.onPresence((people) => renderPresence(presence, people, s))
renderPresence(presence, handle.presence(), s)

mountVersions(data.docId, {
  versions: document.getElementById('doc-versions'),
  flash: document.getElementById('doc-flash'),
  versionForm: document.getElementById('doc-version-form'),
  renameForm: document.getElementById('doc-rename-form'),
  title: document.querySelector('[data-test="doc-title"]')
}, { canManage: data.canManage, strings: s })

// For tests and the browser console: the editor handle ({editor, provider, doc, status(), presence()}).
window.docEditor = handle
