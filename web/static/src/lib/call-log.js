// The call log on the phone page: my calls from GET /api/v1/calls, the missed-calls count until seen (the
// page's chip, the tab title, the Phone link's badge), and a "call back" button on every entry.
import { cityTime } from './city-time.js'
import { setNavBadge } from './nav-badge.js'

export function formatDuration (seconds) {
  const s = Math.max(0, Math.round(seconds || 0))
  const h = Math.floor(s / 3600)
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

const SVG = 'http://www.w3.org/2000/svg'

// An icon of the page's inline sprite (phone_icons.html).
export function icon (name) {
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('class', 'icon')
  svg.setAttribute('aria-hidden', 'true')
  const use = document.createElementNS(SVG, 'use')
  use.setAttribute('href', `#i-${name}`)
  svg.append(use)
  return svg
}

function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'className') node.className = value
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else node.setAttribute(key, value)
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child)
  }
  return node
}

export class CallLog {
  constructor ({ list, badge, filters, t, meId, onCallBack }) {
    this.list = list
    this.badge = badge
    this.filters = filters
    this.t = t
    this.meId = meId
    this.onCallBack = onCallBack
    this.filter = 'all'
    this.missed = 0
    // Missed calls that were new on this visit keep their "new" mark after they were marked seen.
    this.fresh = new Set()
    for (const button of filters) {
      button.addEventListener('click', () => this.show(button.dataset.filter))
    }
    this.badge.addEventListener('click', () => this.show('missed'))
    // A phone tab that was in the background comes to the front: the person is looking at the log now.
    document.addEventListener('visibilitychange', () => {
      if (this.missed && document.visibilityState === 'visible') this.opened()
    })
  }

  // The log is on screen (the page was opened, or its tab came to the front): show it, then count what it
  // shows as seen. A call missed while the page stays on screen counts until the person looks again
  // (docs/calls.md: they may be away from the desk).
  async opened () {
    await this.refresh()
    if (this.missed && document.visibilityState === 'visible') await this.markSeen()
  }

  async show (filter) {
    this.filter = filter
    for (const button of this.filters) button.setAttribute('aria-pressed', String(button.dataset.filter === filter))
    await this.refresh()
    if (filter === 'missed') await this.markSeen()
  }

  async refresh () {
    const query = this.filter === 'missed' ? '?missed=true&limit=50' : '?limit=50'
    const response = await fetch(`/api/v1/calls${query}`, { credentials: 'same-origin' })
    if (!response.ok) return
    const body = await response.json()
    this.render(body.items)
    this.setMissed(body.missed_unseen)
  }

  async markSeen () {
    const response = await fetch('/api/v1/calls/missed/seen', { method: 'POST', credentials: 'same-origin' })
    if (response.ok) this.setMissed(0)
  }

  setMissed (count) {
    this.missed = count
    setNavBadge('missed-calls', count)
    this.badge.hidden = !count
    this.badge.querySelector('b').textContent = String(count)
    document.title = document.title.replace(/^\(\d+\) /, '')
    if (count) document.title = `(${count}) ${document.title}`
  }

  render (items) {
    this.list.replaceChildren()
    if (!items.length) {
      this.list.append(el('li', { className: 'empty muted' }, this.t('No calls yet.')))
      return
    }
    for (const item of items) this.list.append(this.entry(item))
  }

  entry (item) {
    const outgoing = item.direction === 'outgoing'
    const other = outgoing ? item.target_card : item.caller_card
    const time = cityTime(item.dialled_at, { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    let detail = this.t(`outcome.${item.outcome || 'answered'}`)
    if (item.state !== 'ended') detail = this.t('In call')
    else if (item.duration !== null && item.duration !== undefined) detail = `${detail} · ${formatDuration(item.duration)}`
    const kind = item.missed ? 'missed' : (outgoing ? 'outgoing' : 'incoming')
    if (item.missed && !item.seen) this.fresh.add(item.id)
    const fresh = this.fresh.has(item.id)
    const back = el('button', { type: 'button', className: 'call-btn', 'data-test': 'call-back' },
      icon('phone'), el('span', { className: 'call-btn-text' }, this.t('Call back')))
    // call back: the person who called me, or whatever I dialled (a person or a duty line)
    const target = outgoing ? { kind: item.target.kind, id: item.target.id } : { kind: 'person', id: item.caller }
    back.addEventListener('click', () => this.onCallBack(target, other))
    const label = this.t(kind === 'missed' ? 'Missed' : (outgoing ? 'Outgoing' : 'Incoming'))
    return el('li', { className: `log-entry log-${kind}`, dataset: { callId: item.id, outcome: item.outcome || '' } },
      el('span', { className: 'log-icon', role: 'img', 'aria-label': label, title: label }, icon(kind)),
      el('span', { className: 'log-who' },
        el('span', { className: 'log-name' }, other.name,
          other.kind === 'unit' ? el('span', { className: 'tag' }, this.t('Duty line')) : null,
          fresh ? el('span', { className: 'tag tag-new', 'data-test': 'log-new' }, this.t('New')) : null),
        el('small', {}, other.kind === 'person' ? other.unit_name : (other.extension ? `☎ ${other.extension}` : '')),
        el('small', { className: 'log-detail' }, el('span', { 'data-test': 'log-outcome' }, detail), ` · ${time}`)),
      back)
  }
}
