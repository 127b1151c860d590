// A shared document as a side panel of another page (the meeting page's minutes): every element with
// data-extension="minutes" and a data-doc id gets the editor, who is in it and its versions.
// Translated strings come from <script type="application/json" id="doc-strings"> when the page has it.
import { mountEditor } from './editor.js'
import { mountVersions, renderPresence } from './lib/docpanel.js'

function el (tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

function pageStrings () {
  const block = document.getElementById('doc-strings')
  try { return block ? JSON.parse(block.textContent) : {} } catch { return {} }
}

const FALLBACK = {
  you: 'you', noVersions: 'No versions yet.', view: 'View', restore: 'Restore', md: 'Markdown', html: 'HTML',
  docx: 'Word', restored: 'Restored.', versionSaved: 'Saved.', failed: 'Could not do that: %(message)s',
  confirmRestore: 'Restore this version? Everyone editing will see the document change.',
  inDocument: 'In the document', versions: 'Versions', saveVersion: 'Save version', openFull: 'Open in full',
  noAccess: 'The minutes are not shared with you.', unavailable: 'The minutes could not be opened.'
}

async function mountPanel (section) {
  const docId = section.dataset.doc
  const s = { ...FALLBACK, ...pageStrings() }
  const response = await fetch(`/api/v1/docs/${encodeURIComponent(docId)}`, { credentials: 'same-origin' })
  if (!response.ok) {
    section.replaceChildren(el('p', 'muted', response.status === 403 ? s.noAccess : s.unavailable))
    return null
  }
  const meta = await response.json()
  const canManage = meta.role === 'editor'
  const editorBox = el('div', 'doc-panel-editor')
  const presence = el('ul', 'doc-presence')
  const versions = el('ol', 'doc-versions')
  const flash = el('p', 'muted doc-flash')
  flash.setAttribute('role', 'status')
  const full = el('a', 'doc-panel-full', s.openFull)
  full.href = `/docs/${encodeURIComponent(docId)}`
  full.target = '_blank'
  full.rel = 'noopener'
  const side = el('div', 'doc-panel-side')
  side.append(el('h3', null, s.inDocument), presence, el('h3', null, s.versions))
  let form = null
  if (canManage) {
    form = el('form', 'doc-version-form')
    const input = el('input')
    input.name = 'name'
    input.required = true
    input.maxLength = 200
    input.setAttribute('aria-label', s.saveVersion)
    const button = el('button', null, s.saveVersion)
    button.type = 'submit'
    form.append(input, button)
    side.append(form)
  }
  side.append(flash, versions, full)
  section.replaceChildren(editorBox, side)
  section.classList.add('doc-panel')

  const handle = mountEditor(editorBox, { docId, user: meta.me, readOnly: !canManage, strings: s })
  handle.onPresence((people) => renderPresence(presence, people, s))
  mountVersions(docId, { versions, flash, versionForm: form }, { canManage, strings: s })
  return handle
}

const panels = []
for (const section of document.querySelectorAll('[data-extension="minutes"][data-doc]')) {
  if (!section.dataset.doc) continue
  panels.push(mountPanel(section))
}
// For tests: the editor handles of the mounted panels.
window.minutesPanels = Promise.all(panels)
