// The meeting page's DOM: video tiles, the participants list (hands, chair controls), the lobby, chat.
// No HTML strings from data: every name goes through textContent.
import { cityTime } from './city-time.js'

function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') node.className = value
    else if (key === 'text') node.textContent = value
    else if (key.startsWith('data') || key === 'title' || key === 'type' || key === 'role') node.setAttribute(key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()), value)
    else node[key] = value
  }
  for (const child of children) if (child) node.append(child)
  return node
}

export class MeetingView {
  constructor (root, t) {
    this.root = root
    this.t = t
    this.grid = root.querySelector('#grid')
    this.people = root.querySelector('[data-test="people"]')
    this.lobbyList = root.querySelector('[data-test="lobby-list"]')
    this.chatLog = root.querySelector('[data-test="chat-log"]')
    this.chatIds = new Set() // the messages shown
    this.count = root.querySelector('[data-test="count"]')
    this.tiles = new Map() // tile key -> { tile, video, stream }
    this.spotlight = null // the called participant's id
    this.main = null // the main venue's participant id
    this.onAction = () => {}
  }

  setPhase (phase) {
    this.root.dataset.phase = phase
  }

  _roleLabel (role) {
    return { chair: this.t('Chair'), secretary: this.t('Secretary'), organizer: this.t('Organizer') }[role] || ''
  }

  // A tile per participant camera (key = participant id) and per screen share (key = id + ":screen").
  tile (key, participant, { local = false, screen = false } = {}) {
    let entry = this.tiles.get(key)
    if (!entry) {
      const video = el('video', { autoplay: true, playsInline: true, muted: local })
      const name = el('span', { class: 'tile-name' })
      const unit = el('span', { class: 'tile-unit' })
      const flags = el('span', { class: 'tile-flags' })
      const main = el('span', { class: 'tile-main', text: this.t('Main venue') })
      const tile = el('figure', { class: 'tile' + (local ? ' local' : '') + (screen ? ' screen' : ''), dataKey: key, dataTest: 'tile' },
        video, el('div', { class: 'tile-off', text: this.t('Camera is off') }),
        el('figcaption', {}, main, name, unit, flags))
      entry = { tile, video, stream: new MediaStream(), name, unit, flags }
      video.srcObject = entry.stream
      this.tiles.set(key, entry)
      if (local) this.grid.prepend(tile)
      else this.grid.append(tile)
    }
    if (participant) this.label(entry, participant, { local, screen })
    entry.tile.classList.toggle('spotlight', key === this.spotlight)
    entry.tile.classList.toggle('main-venue', key === this.main)
    this._layout()
    return entry
  }

  // The gallery's page: the tiles in `keys` are shown in that order, with the local tile, the spotlight and
  // screen shares; the others are hidden (their videos are not received).
  showOnly (keys) {
    const order = new Map(keys.map((key, index) => [key, index]))
    for (const [key, entry] of this.tiles) {
      const always = entry.tile.classList.contains('local') || key === this.spotlight || key.endsWith(':screen')
      entry.tile.hidden = !always && !order.has(key)
      entry.tile.style.order = String(order.has(key) ? order.get(key) : 0)
    }
    this._layout()
  }

  // The main venue (主会场): marked on its tile and in the participants list (null: none).
  setMain (participantId) {
    this.main = participantId
    for (const [key, entry] of this.tiles) entry.tile.classList.toggle('main-venue', key === participantId)
  }

  label (entry, p, { local = false, screen = false } = {}) {
    // a meeting-room terminal stands for its unit's venue: the unit's name is what people look for
    const name = p.venue ? p.org_unit_name : p.name
    entry.name.textContent = (screen ? this.t('Screen') + ' · ' : '') + name + (local ? ` (${this.t('You')})` : '')
    entry.unit.textContent = p.venue ? this.t('Venue') : (p.org_unit_name || '')
    entry.flags.replaceChildren(...this._flags(p, false))
    entry.tile.dataset.person = p.person_id
    entry.tile.classList.toggle('video-off', !screen && p.video === false)
  }

  // Text badges, not emoji: office PCs on the closed network may lack an emoji font.
  _flags (p, withVideo) {
    const flags = []
    if (p.hand) flags.push(el('span', { class: 'flag hand', dataFlag: 'hand', text: this.t('Hand raised') }))
    if (p.audio === false) flags.push(el('span', { class: 'flag', dataFlag: 'muted', text: this.t('Muted') }))
    if (withVideo && p.video === false) flags.push(el('span', { class: 'flag', dataFlag: 'camera-off', text: this.t('Camera is off') }))
    return flags
  }

  removeTile (key) {
    const entry = this.tiles.get(key)
    if (!entry) return
    entry.video.srcObject = null
    entry.tile.remove()
    this.tiles.delete(key)
    this._layout()
  }

  clearTiles () {
    for (const key of [...this.tiles.keys()]) this.removeTile(key)
  }

  // Roll call: the called participant's tile large and first, a banner for everybody (null: nobody).
  setSpotlight (spotlight) {
    const key = spotlight ? spotlight.participant_id : null
    for (const [tileKey, entry] of this.tiles) entry.tile.classList.toggle('spotlight', tileKey === key)
    const banner = this.root.querySelector('[data-test="stage-banner"]')
    banner.hidden = !spotlight
    banner.textContent = spotlight
      ? this.t('Called on: %(name)s', { name: spotlight.venue ? spotlight.org_unit_name : `${spotlight.name} · ${spotlight.org_unit_name}` })
      : ''
    this.spotlight = key
  }

  speaking (participantId) {
    for (const [key, entry] of this.tiles) entry.tile.classList.toggle('speaking', key === participantId)
  }

  _layout () {
    const shown = [...this.tiles.values()].filter((entry) => !entry.tile.hidden).length
    const n = Math.max(1, shown)
    const columns = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : n <= 16 ? 4 : 5
    this.grid.style.setProperty('--columns', String(columns))
    this.grid.dataset.tiles = String(shown)
  }

  renderPeople (participants, { me, moderator }) {
    this.people.replaceChildren()
    const sorted = [...participants.values()].sort((a, b) => (b.hand - a.hand) || (a.joined_at - b.joined_at))
    for (const p of sorted) {
      const actions = el('span', { class: 'person-actions' })
      if (moderator) {
        actions.append(el('button', { type: 'button', class: 'small', text: this.t('Spotlight'),
          dataTest: 'spotlight-' + p.person_id, onclick: () => this.onAction('spotlight', p) }))
        const isMain = p.participant_id === this.main
        actions.append(el('button', { type: 'button', class: 'small', text: this.t(isMain ? 'Not the main venue' : 'Make main venue'),
          dataTest: 'main-' + p.person_id, onclick: () => this.onAction(isMain ? 'unmain' : 'main', p) }))
      }
      if (moderator && p.participant_id !== me) {
        actions.append(
          el('button', { type: 'button', class: 'small', text: this.t('Mute'), dataTest: 'mute-' + p.person_id,
            onclick: () => this.onAction('mute', p) }),
          el('button', { type: 'button', class: 'small danger', text: this.t('Remove'), dataTest: 'remove-' + p.person_id,
            onclick: () => this.onAction('remove', p) }))
      }
      const role = this._roleLabel(p.role)
      const called = p.participant_id === this.spotlight ? ' spotlight' : ''
      this.people.append(el('li', { class: 'person' + (p.hand ? ' hand' : '') + called, dataPerson: p.person_id },
        el('span', { class: 'person-name', text: p.name + (p.participant_id === me ? ` (${this.t('You')})` : '') }),
        role ? el('span', { class: 'tag', text: role }) : null,
        p.participant_id === this.main ? el('span', { class: 'tag main', text: this.t('Main venue') }) : null,
        el('span', { class: 'person-unit muted', text: p.org_unit_name }),
        el('span', { class: 'person-flags' }, ...this._flags(p, true)),
        actions))
    }
    this.count.textContent = String(participants.size)
  }

  renderLobby (waiting) {
    this.lobbyList.replaceChildren()
    if (waiting.size === 0) {
      this.lobbyList.append(el('li', { class: 'muted', text: this.t('No one is waiting.') }))
      return
    }
    for (const p of waiting.values()) {
      this.lobbyList.append(el('li', { class: 'lobby-person', dataPerson: p.person_id },
        el('span', { text: `${p.name} · ${p.org_unit_name}` }),
        el('button', { type: 'button', class: 'small primary', text: this.t('Admit'), dataTest: 'admit-' + p.person_id,
          onclick: () => this.onAction('admit', p) }),
        el('button', { type: 'button', class: 'small', text: this.t('Turn away'), dataTest: 'deny-' + p.person_id,
          onclick: () => this.onAction('deny', p) })))
    }
  }

  // The chair's queue of requests to speak, first come first (申请发言).
  renderFloor (requests) {
    const list = this.root.querySelector('[data-test="floor-list"]')
    list.replaceChildren()
    if (requests.size === 0) {
      list.append(el('li', { class: 'muted', text: this.t('No one asked to speak.') }))
      return
    }
    for (const r of requests.values()) {
      const who = r.venue ? r.org_unit_name : `${r.name} · ${r.org_unit_name}`
      list.append(el('li', { class: 'lobby-person', dataPerson: r.person_id },
        el('span', { text: who }),
        el('button', { type: 'button', class: 'small primary', text: this.t('Give the floor'), dataTest: 'grant-' + r.person_id,
          onclick: () => this.onAction('grant', r) }),
        el('button', { type: 'button', class: 'small', text: this.t('Decline'), dataTest: 'decline-' + r.person_id,
          onclick: () => this.onAction('decline', r) })))
    }
  }

  clearChat () {
    this.chatLog.replaceChildren()
    this.chatIds = new Set()
  }

  // A message shown once: one sent while joining is both in the join's history and an event after it.
  addChat (message, mine) {
    if (this.chatIds.has(message.id)) return
    this.chatIds.add(message.id)
    const time = cityTime(message.sent_at, { hour: '2-digit', minute: '2-digit' })
    this.chatLog.append(el('li', { class: 'chat-line' + (mine ? ' mine' : '') },
      el('span', { class: 'chat-who', text: message.name }), el('time', { class: 'muted', text: time }),
      el('p', { text: message.text })))
    this.chatLog.scrollTop = this.chatLog.scrollHeight
  }
}

export function toast (root, text) {
  const note = el('div', { class: 'toast', role: 'status', text })
  root.append(note)
  setTimeout(() => note.remove(), 4000)
}
