// The side panel of a shared document: who is in it, named versions (save, view, restore) and exports.
// Used by the document page and, as a side panel, by pages that embed a document (e.g. a meeting's minutes).
import { cityTime } from './city-time.js'

function el (tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

async function api (method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined
  })
  const data = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error((data.error && data.error.message) || `HTTP ${response.status}`)
  return data
}

function formatTime (iso) {
  return cityTime(iso)
}

/** Render the presence list: [{name, color, self}] from mountEditor's onPresence. */
export function renderPresence (list, people, s) {
  list.replaceChildren(...people.map((person) => {
    const item = el('li', null)
    const dot = el('span', 'doc-dot')
    dot.style.backgroundColor = /^#[0-9a-fA-F]{3,8}$/.test(person.color) ? person.color : '#888'
    item.append(dot, document.createTextNode(person.self ? `${person.name} (${s.you})` : person.name))
    return item
  }))
}

/**
 * Wire the versions list, the save-version and rename forms of document `docId`.
 * elements: {versions, flash, versionForm?, renameForm?, title?}; s: translated strings.
 */
export function mountVersions (docId, elements, { canManage, strings: s }) {
  const base = `/api/v1/docs/${encodeURIComponent(docId)}`
  const flash = (text) => { if (elements.flash) elements.flash.textContent = text }
  const failed = (error) => flash(s.failed.replace('%(message)s', error.message))

  const render = (versions) => {
    if (!versions.length) {
      elements.versions.replaceChildren(el('li', 'muted', s.noVersions))
      return
    }
    elements.versions.replaceChildren(...versions.map((version) => {
      const item = el('li', 'doc-version')
      item.dataset.versionId = version.id
      const head = el('div', 'doc-version-head')
      head.append(el('strong', null, version.name), el('small', 'muted', formatTime(version.created_at)))
      const actions = el('div', 'doc-version-links')
      const view = el('a', null, s.view)
      view.href = `/docs/${encodeURIComponent(docId)}/versions/${encodeURIComponent(version.id)}`
      actions.append(view)
      for (const format of ['md', 'html', 'docx']) {
        const link = el('a', null, s[format])
        link.href = `${base}/export?format=${format}&version=${encodeURIComponent(version.id)}`
        actions.append(link)
      }
      if (canManage) {
        const restore = el('button', 'link-button', s.restore)
        restore.type = 'button'
        restore.dataset.test = 'restore-version'
        restore.addEventListener('click', async () => {
          if (!window.confirm(s.confirmRestore)) return
          try {
            await api('POST', `${base}/versions/${encodeURIComponent(version.id)}/restore`)
            flash(s.restored)
          } catch (error) { failed(error) }
        })
        actions.append(restore)
      }
      item.append(head, actions)
      return item
    }))
  }

  const load = async () => {
    try { render((await api('GET', `${base}/versions`)).versions) } catch (error) { failed(error) }
  }

  if (elements.versionForm) {
    elements.versionForm.addEventListener('submit', async (event) => {
      event.preventDefault()
      const input = elements.versionForm.elements.name
      try {
        await api('POST', `${base}/versions`, { name: input.value })
        input.value = ''
        flash(s.versionSaved)
        await load()
      } catch (error) { failed(error) }
    })
  }
  if (elements.renameForm) {
    elements.renameForm.addEventListener('submit', async (event) => {
      event.preventDefault()
      try {
        const doc = await api('PATCH', base, { title: elements.renameForm.elements.title.value })
        if (elements.title) elements.title.textContent = doc.title
        document.title = document.title.replace(/^[^·]*/, `${doc.title} `)
      } catch (error) { failed(error) }
    })
  }
  load()
  return { reload: load }
}
