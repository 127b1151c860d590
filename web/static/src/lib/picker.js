// Searchable pickers (docs/meetings.md "Choosing people and units"): a <select data-picker="people|units">
// (single or multiple) becomes a text box that searches the directory as one types (name, unit, extension or
// the name's pinyin: `xjc` finds 谢继成) and shows the choices as chips. The select stays in the form, hidden and
// kept in step, so the form posts exactly what it did; without scripts the plain select still works.

const SEARCH = {
  people: (q) => `/api/v1/directory/people?limit=8&q=${encodeURIComponent(q)}`,
  units: (q) => `/api/v1/directory/org-units/search?limit=8&q=${encodeURIComponent(q)}`
}
const WAIT_MS = 150
let counter = 0

export class Picker {
  constructor (select) {
    this.select = select
    this.kind = select.dataset.picker
    this.multiple = select.multiple
    this.results = []
    this.active = -1
    this.timer = null
    this.asked = 0
    counter += 1
    const id = `picker-${counter}`
    this.root = element('div', 'picker')
    this.root.dataset.test = `picker-${select.name}`
    this.chips = element('ul', 'picker-chips')
    this.input = element('input', 'picker-input')
    Object.assign(this.input, { type: 'search', autocomplete: 'off', id: `${select.id || id}-search` })
    this.input.placeholder = select.dataset.placeholder || ''
    this.input.setAttribute('role', 'combobox')
    this.input.setAttribute('aria-autocomplete', 'list')
    this.input.setAttribute('aria-expanded', 'false')
    this.input.setAttribute('aria-controls', `${id}-list`)
    this.list = element('ul', 'picker-list')
    this.list.id = `${id}-list`
    this.list.setAttribute('role', 'listbox')
    this.list.hidden = true
    this.root.append(this.chips, this.input, this.list)
    const label = select.id && document.querySelector(`label[for="${select.id}"]`)
    if (label) label.htmlFor = this.input.id
    select.hidden = true
    select.after(this.root)
    this.input.addEventListener('input', () => this.typed())
    this.input.addEventListener('keydown', (e) => this.key(e))
    this.input.addEventListener('blur', () => setTimeout(() => this.close(), 150))
    this.renderChips()
  }

  chosen () {
    return [...this.select.selectedOptions].filter((o) => o.value !== '')
  }

  typed () {
    clearTimeout(this.timer)
    const q = this.input.value.trim()
    if (!q) { this.close(); return }
    this.timer = setTimeout(() => this.search(q), WAIT_MS)
  }

  async search (q) {
    const asked = ++this.asked
    let items = []
    try {
      const response = await fetch(SEARCH[this.kind](q), { credentials: 'same-origin' })
      if (response.ok) items = (await response.json()).items
    } catch (error) {
      console.debug('picker search failed:', error)
    }
    if (asked !== this.asked) return // a later search is on its way
    const taken = new Set(this.chosen().map((o) => o.value))
    this.results = items.filter((item) => !taken.has(item.id))
    this.active = this.results.length ? 0 : -1
    this.renderList()
  }

  label (item) {
    if (this.kind === 'people') return [item.name, item.org_unit_name, item.extension].filter(Boolean).join(' · ')
    return [item.name, item.extension].filter(Boolean).join(' · ')
  }

  renderList () {
    this.list.replaceChildren()
    this.results.forEach((item, index) => {
      const option = element('li', 'picker-option')
      option.id = `${this.list.id}-${index}`
      option.setAttribute('role', 'option')
      option.setAttribute('aria-selected', String(index === this.active))
      option.dataset.value = item.id
      option.textContent = this.label(item)
      option.addEventListener('mousedown', (e) => { e.preventDefault(); this.choose(item) })
      this.list.append(option)
    })
    if (!this.results.length) {
      const none = element('li', 'picker-none')
      none.textContent = this.select.dataset.empty || ''
      this.list.append(none)
    }
    this.list.hidden = false
    this.input.setAttribute('aria-expanded', 'true')
    if (this.active >= 0) this.input.setAttribute('aria-activedescendant', `${this.list.id}-${this.active}`)
    else this.input.removeAttribute('aria-activedescendant')
  }

  close () {
    this.list.hidden = true
    this.input.setAttribute('aria-expanded', 'false')
    this.input.removeAttribute('aria-activedescendant')
  }

  key (event) {
    const open = !this.list.hidden && this.results.length
    if (event.key === 'ArrowDown' && open) {
      this.active = (this.active + 1) % this.results.length
      this.renderList()
    } else if (event.key === 'ArrowUp' && open) {
      this.active = (this.active - 1 + this.results.length) % this.results.length
      this.renderList()
    } else if (event.key === 'Enter') {
      if (open && this.active >= 0) this.choose(this.results[this.active])
    } else if (event.key === 'Escape') {
      this.close()
      return
    } else if (event.key === 'Backspace' && !this.input.value && this.multiple) {
      const last = this.chosen().pop()
      if (last) this.remove(last.value)
      return
    } else {
      return
    }
    event.preventDefault()
  }

  choose (item) {
    let option = [...this.select.options].find((o) => o.value === item.id)
    if (!option) {
      option = new Option(this.label(item), item.id)
      this.select.append(option)
    }
    if (!this.multiple) for (const other of this.select.options) other.selected = false
    option.selected = true
    this.input.value = ''
    this.close()
    this.changed()
  }

  remove (value) {
    const option = [...this.select.options].find((o) => o.value === value)
    if (option) option.selected = false
    if (!this.multiple) {
      const none = [...this.select.options].find((o) => o.value === '')
      if (none) none.selected = true
    }
    this.changed()
    this.input.focus()
  }

  changed () {
    this.renderChips()
    this.select.dispatchEvent(new Event('change', { bubbles: true }))
  }

  renderChips () {
    this.chips.replaceChildren()
    // a single choice that cannot be left empty (the chair) is changed by choosing another, not removed
    const removable = this.multiple || [...this.select.options].some((o) => o.value === '')
    for (const option of this.chosen()) {
      const chip = element('li', 'picker-chip')
      chip.dataset.value = option.value
      chip.append(document.createTextNode(option.textContent))
      if (removable) {
        const remove = element('button', 'picker-remove')
        remove.type = 'button'
        remove.textContent = '×'
        remove.setAttribute('aria-label', `${this.select.dataset.removeLabel || 'Remove'} ${option.textContent}`)
        remove.addEventListener('click', () => this.remove(option.value))
        chip.append(remove)
      }
      this.chips.append(chip)
    }
    this.root.classList.toggle('picker-filled', this.chosen().length > 0)
  }
}

function element (tag, className) {
  const node = document.createElement(tag)
  node.className = className
  return node
}

// Every picker select under root; the forms holding one say so (their "hold Ctrl" hints go).
export function enhancePickers (root = document) {
  for (const select of root.querySelectorAll('select[data-picker]')) {
    if (select.hidden) continue
    new Picker(select) // eslint-disable-line no-new
    const form = select.closest('form')
    if (form) form.classList.add('pickers-on')
  }
}
