// People to call on the phone page: directory search as you type, and one list item per person.

import { icon } from './call-log.js'

// A person found in the directory, with one button: call them, or add them to the call.
export function contactItem (person, { kind, label }) {
  const item = document.createElement('li')
  item.className = 'contact'
  const name = document.createElement('span')
  name.className = 'contact-name'
  name.textContent = person.name
  const small = document.createElement('small')
  small.textContent = [person.org_unit_name, person.title, person.extension ? `☎ ${person.extension}` : ''].filter(Boolean).join(' · ')
  name.append(small)
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'call-btn'
  button.dataset.dialKind = kind
  button.dataset.dialId = person.id
  button.dataset.dialName = person.name
  button.setAttribute('aria-label', `${label} ${person.name}`)
  const text = document.createElement('span')
  text.className = 'call-btn-text'
  text.textContent = label
  button.append(icon(kind === 'add' ? 'user-plus' : 'phone'), text)
  item.append(name, button)
  return item
}

// One of my recent contacts (GET /api/v1/calls/recent-contacts), as the phone page renders them: a person or a
// duty line, with the online dot the presence refresh fills in.
export function recentItem (contact, { t }) {
  const item = contactItem({
    id: contact.id,
    name: contact.name,
    org_unit_name: contact.kind === 'person' ? contact.unit_name : '',
    extension: contact.extension
  }, { kind: contact.kind, label: t('Call') })
  const dot = document.createElement('span')
  dot.className = 'online-dot'
  dot.setAttribute('aria-hidden', 'true')
  item.prepend(dot)
  if (contact.kind === 'unit') {
    const tag = document.createElement('span')
    tag.className = 'tag'
    tag.textContent = t('Duty line')
    item.querySelector('.contact-name').firstChild.after(' ', tag)
  }
  return item
}

// Directory search as you type into a list (everyone but me).
export function searchAs (input, results, itemOf, { meId, t }) {
  let timer = null
  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(async () => {
      const q = input.value.trim()
      results.replaceChildren()
      if (!q) return
      const response = await fetch(`/api/v1/directory/people?limit=10&q=${encodeURIComponent(q)}`)
      if (!response.ok) return
      const body = await response.json()
      const people = body.items.filter((person) => person.id !== meId)
      if (!people.length) {
        const empty = document.createElement('li')
        empty.className = 'empty muted'
        empty.textContent = t('No one matches.')
        results.append(empty)
      }
      for (const person of people) results.append(itemOf(person))
    }, 250)
  })
}
