// The phone page: dial by extension, directory search, my unit, recent contacts, incoming calls with a
// ringtone, the in-call view, and the call log. Signaling over /ws (lib/signaling.js), media peer to peer.

import { watchNotices } from './lib/notices.js'
import { Signaling } from './lib/signaling.js'
import { Tones } from './lib/tones.js'
import { PhoneCall, localMedia } from './lib/phone-call.js'
import { CallLog } from './lib/call-log.js'
import { CallView } from './lib/call-view.js'
import { leaveForMeeting } from './lib/call-handoff.js'
import { contactItem, recentItem, searchAs } from './lib/contacts.js'

const $ = (selector) => document.querySelector(selector)
const data = JSON.parse($('#phone-data').textContent)
const strings = JSON.parse($('#phone-strings').textContent)
const t = (key) => strings[key] || key
// A refusal's own message when the page has one for its code, else the fallback.
const refusal = (err, fallback) => (strings[`error.${err.code}`] ? t(`error.${err.code}`) : fallback)

const PRESENCE_EVERY_MS = 15000

// A one-time order in the address (?answer=, ?dial=): its value, removed from the address first, so that a
// reload or a bookmark never carries it out again.
function takeParam (name) {
  const params = new URLSearchParams(location.search)
  const value = params.get(name)
  if (value === null) return null
  params.delete(name)
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`)
  return value
}

const MESSAGES = {
  busy: 'The line is busy.',
  missed: 'No answer',
  declined: 'Declined',
  cancelled: 'Cancelled',
  unavailable: 'Not reachable',
  answered: 'Call ended',
  meeting: 'Moved to a meeting'
}

class PhonePage {
  constructor () {
    this.signaling = new Signaling()
    this.tones = new Tones()
    this.call = null // { id, role, peer, media, answeredAt }
    this.dialling = false // while call.dial awaits its reply
    this.incoming = null // the call.incoming event data ringing on this tab
    this.view = new CallView(t)
    this.log = new CallLog({
      list: $('[data-test=call-log]'),
      badge: $('[data-test=missed-badge]'),
      filters: document.querySelectorAll('.log-filter [data-filter]'),
      t,
      meId: data.me.id,
      onCallBack: (target, card) => this.dial(target, card.name)
    })
    this.log.setMissed(data.missed)
  }

  async start () {
    this.bindUi()
    const sig = this.signaling
    sig.on('state', (state) => this.showConnection(state))
    sig.on('reconnected', () => this.onReconnected())
    sig.on('disconnected', () => this.onDisconnected())
    // this node is going away: reconnect now (to another node); an answered call resumes there
    sig.on('server.draining', () => { if (sig.ws) sig.ws.close(1000, 'moving') })
    sig.on('call.incoming', (d) => this.onIncoming(d))
    sig.on('call.ringing_stopped', (d) => this.onRingingStopped(d))
    sig.on('call.answered', (d) => this.onAnswered(d))
    sig.on('call.signal', (d) => { if (this.call && this.call.peer && d.call_id === this.call.id) this.call.peer.onSignal(d) })
    sig.on('call.ended', (d) => this.onEnded(d.call))
    sig.on('call.missed', (d) => this.log.setMissed(d.count))
    sig.on('call.meeting_invite', (d) => this.onMeetingInvite(d))
    await sig.start()
    watchNotices(sig)
    await this.register()
    this.answerFromAnotherPage()
    this.dialFromAnotherPage()
    await this.log.opened()
    this.soundHint()
    this.refreshPresence()
    setInterval(() => this.refreshPresence(), PRESENCE_EVERY_MS)
  }

  // A green dot on the people of my unit and my recent contacts who have a phone online.
  async refreshPresence () {
    const buttons = [...document.querySelectorAll('.contacts [data-dial-kind=person]')]
    const ids = [...new Set(buttons.map((b) => b.dataset.dialId))].slice(0, 50)
    if (!ids.length) return
    const response = await fetch(`/api/v1/calls/presence?people=${encodeURIComponent(ids.join(','))}`)
    if (!response.ok) return
    const { people } = await response.json()
    for (const button of buttons) {
      const online = Boolean(people[button.dataset.dialId] && people[button.dataset.dialId].online)
      const item = button.closest('.contact')
      item.dataset.online = String(online)
      const dot = item.querySelector('.online-dot')
      if (dot) dot.title = online ? t('Online') : ''
    }
  }

  async register () {
    const reply = await this.signaling.request('call.register', { device: 'browser', label: navigator.userAgent.slice(0, 60) })
    this.deviceId = reply.device_id
    this.log.setMissed(reply.missed)
  }

  // The socket dropped: a call that rings is over (the hub cancels it); an answered call goes on peer to
  // peer while we reconnect, and is resumed on the new socket (calls.reconnect_grace on the hub).
  onDisconnected () {
    if (this.incoming) this.hideIncoming()
    if (!this.call) return
    if (this.call.peer) this.view.setState(t('Connection lost: reconnecting…'), 'reconnecting')
    else this.finish(null, t('Connection lost: reconnecting…'))
  }

  async onReconnected () {
    await this.register()
    if (!this.call || !this.call.peer) return
    try {
      await this.signaling.request('call.resume', { call_id: this.call.id })
      this.view.setState(t('In call'), 'connected')
    } catch {
      this.finish(null, t('Call ended'))
    }
  }

  showConnection (state) {
    const box = $('[data-test=phone-connection]')
    box.dataset.state = state
    box.textContent = state === 'reconnecting' ? t('Connection lost: reconnecting…') : ''
  }

  soundHint () {
    const hint = $('[data-test=sound-hint]')
    const update = () => { hint.hidden = this.tones.audible }
    this.tones.context()
    update()
    const unlock = async () => { await this.tones.unlock(); update() }
    document.addEventListener('click', unlock, { once: true })
    document.addEventListener('keydown', unlock, { once: true })
  }

  bindUi () {
    const number = $('[data-test=dial-number]')
    document.querySelectorAll('.dialpad .key').forEach((key) => key.addEventListener('click', () => {
      number.value = (number.value + key.dataset.key).slice(0, 20)
      number.focus()
    }))
    $('[data-action=backspace]').addEventListener('click', () => { number.value = number.value.slice(0, -1) })
    $('[data-test=dial-form]').addEventListener('submit', (e) => {
      e.preventDefault()
      const digits = number.value.trim()
      if (!digits) { this.view.toast(t('Enter a number')); return }
      this.dial({ kind: 'extension', id: digits }, digits)
    })
    document.addEventListener('click', (e) => {
      const button = e.target.closest('[data-dial-kind]')
      if (!button) return
      if (button.dataset.dialKind === 'add') this.toMeeting(button.dataset.dialId)
      else this.dial({ kind: button.dataset.dialKind, id: button.dataset.dialId }, button.dataset.dialName)
    })
    this.bindSearch()
    $('[data-action=answer]').addEventListener('click', () => this.answer())
    $('[data-action=decline]').addEventListener('click', () => this.decline())
    $('[data-action=hangup]').addEventListener('click', () => this.hangup())
    $('[data-action=mute]').addEventListener('click', () => this.toggle('mute'))
    $('[data-action=camera]').addEventListener('click', () => this.toggle('camera'))
    $('[data-action=enable-sound]').addEventListener('click', () => this.tones.unlock())
    $('[data-action=add-person]').addEventListener('click', () => this.showAddPerson(true))
    $('[data-action=add-person-close]').addEventListener('click', () => this.showAddPerson(false))
    $('[data-action=join-meeting]').addEventListener('click', () => this.joinInvite())
    $('[data-action=skip-meeting]').addEventListener('click', () => this.hideInvite())
  }

  bindSearch () {
    $('[data-test=phone-search-form]').addEventListener('submit', (e) => e.preventDefault())
    const options = { meId: data.me.id, t }
    searchAs($('[data-test=phone-search]'), $('[data-test=search-results]'),
      (person) => contactItem(person, { kind: 'person', label: t('Call') }), options)
    searchAs($('[data-test=add-person-q]'), $('[data-test=add-person-results]'),
      (person) => contactItem(person, { kind: 'add', label: t('Add a person') }), options)
  }

  // -- calls ------------------------------------------------------------------------------------------

  // The events of our own call (a terminal answers at once, the answer comes through another node) come after
  // the reply to call.dial, never before it (docs/signaling.md): the call they name is known when they come.
  async dial (target, label) {
    if (this.call || this.incoming || this.dialling) return
    this.dialling = true
    try {
      await this.placeCall(target, label)
    } finally {
      this.dialling = false
    }
  }

  async placeCall (target, label) {
    this.tones.unlock()
    const fields = { [target.kind]: target.id }
    this.view.open(label, t('Calling…'))
    const media = await localMedia()
    this.view.showSelf(media)
    let reply
    try {
      reply = await this.signaling.request('call.dial', fields)
    } catch (err) {
      stopMedia(media)
      this.view.close()
      this.view.toast(refusal(err, t('Calling failed')))
      return
    }
    const call = reply.call
    this.call = { id: call.id, role: 'caller', media, iceServers: reply.ice_servers, peer: null }
    if (reply.callee) $('[data-test=call-peer]').textContent = reply.callee.name
    if (call.state === 'ended') {
      this.onEnded(call)
      return
    }
    this.view.setState(t('Ringing…'), 'ringing')
    this.tones.play('ringback')
  }

  async onAnswered (d) {
    if (!this.call || d.call.id !== this.call.id) return
    this.tones.stop()
    this.view.setState(t('Putting the call through…'), 'connecting')
    this.startPeer(d.call)
    await this.call.peer.offer()
  }

  startPeer (call) {
    const peer = new PhoneCall(this.signaling, { callId: call.id, iceServers: this.call.iceServers, stream: this.call.media })
    this.call.peer = peer
    this.call.answeredAt = Date.parse(call.answered_at) || Date.now()
    peer.addEventListener('remote', (e) => this.view.showRemote(e.detail))
    peer.addEventListener('state', (e) => {
      if (e.detail === 'connected') this.view.setState(t('In call'), 'connected')
    })
    this.view.startDuration()
  }

  onIncoming (d) {
    if (this.call || this.incoming) return // busy here: other devices may answer; the server says busy to new callers
    this.incoming = d
    const overlay = $('[data-test=incoming]')
    $('[data-test=incoming-name]').textContent = d.caller.name
    $('[data-test=incoming-unit]').textContent = [d.caller.unit_name, d.caller.title].filter(Boolean).join(' · ')
    const duty = $('[data-test=incoming-duty]')
    duty.hidden = !d.duty_line
    duty.textContent = d.duty_line ? `${t('Duty line')}: ${d.duty_line.name}` : ''
    overlay.dataset.callId = d.call.id
    overlay.hidden = false
    $('[data-action=answer]').focus()
    this.tones.play('ring')
  }

  hideIncoming () {
    this.incoming = null
    $('[data-test=incoming]').hidden = true
    this.tones.stop()
  }

  // Another page rang and the official pressed Answer there (lib/page-phone.js): it opened /phone?answer=ID.
  // The address is cleaned first, so a reload later answers nothing.
  answerFromAnotherPage () {
    const callId = takeParam('answer')
    if (!callId) return
    if (this.call || this.incoming) return
    this.incoming = { call: { id: callId }, caller: { name: t('Incoming call') } }
    this.answer()
  }

  // The directory's call buttons open /phone?dial=person:ID or unit:ID in the phone tab. From a page of the hub
  // the call is placed at once; a link from anywhere else only fills in the target and waits for a click.
  dialFromAnotherPage () {
    const [kind, id] = (takeParam('dial') || '').split(':')
    if (!['person', 'unit'].includes(kind) || !id) return
    const fromTheHub = document.referrer.startsWith(`${location.origin}/`)
    if (fromTheHub) { this.dial({ kind, id }, ''); return }
    const button = document.querySelector(`[data-dial-kind="${kind}"][data-dial-id="${CSS.escape(id)}"]`)
    if (button) button.focus()
    else this.view.toast(t('Search for the person to call'))
  }

  async answer () {
    const d = this.incoming
    if (!d) return
    this.hideIncoming()
    this.view.open(d.caller.name, t('Putting the call through…'))
    const media = await localMedia()
    this.view.showSelf(media)
    try {
      const reply = await this.signaling.request('call.answer', { call_id: d.call.id })
      this.call = { id: d.call.id, role: 'callee', media, iceServers: reply.ice_servers, peer: null }
      this.view.setState(t('Putting the call through…'), 'connecting')
      this.startPeer(reply.call)
      if (!d.caller.id) this.showCallerOf(reply.call)
    } catch (err) {
      stopMedia(media)
      this.view.close()
      this.view.toast(refusal(err, t('Call ended')))
    }
  }

  // The caller's name in the call view, for a call answered without its ringing data (from another page).
  async showCallerOf (call) {
    try {
      const response = await fetch(`/api/v1/directory/people/${encodeURIComponent(call.caller)}`)
      if (response.ok) $('[data-test=call-peer]').textContent = (await response.json()).name
    } catch { /* the placeholder stays */ }
  }

  async decline () {
    const d = this.incoming
    if (!d) return
    this.hideIncoming()
    try { await this.signaling.request('call.decline', { call_id: d.call.id }) } catch { /* it stopped anyway */ }
    this.log.refresh()
    this.refreshRecent()
  }

  onRingingStopped (d) {
    if (!this.incoming || this.incoming.call.id !== d.call_id) return
    this.hideIncoming()
    if (d.reason === 'answered_elsewhere') this.view.toast(t('Answered on another device'))
    this.log.refresh()
    this.refreshRecent()
  }

  async hangup () {
    if (!this.call) { this.view.close(); return }
    const id = this.call.id
    try {
      const reply = await this.signaling.request('call.hangup', { call_id: id })
      this.onEnded(reply.call)
    } catch {
      this.finish(null, t('Call ended'))
    }
  }

  onEnded (call) {
    if (!this.call || call.id !== this.call.id) return
    const message = t(MESSAGES[call.outcome] || 'Call ended')
    this.view.setOutcome(call.outcome)
    // the call became a meeting: both ends move to it and join at once, camera and microphone as in the call
    const moving = call.outcome === 'meeting' && call.meeting_id
    if (moving) leaveForMeeting(call.meeting_id, this.call.media)
    this.finish(call.outcome, message)
    if (moving) location.assign(`/meetings/${encodeURIComponent(call.meeting_id)}`)
  }

  // -- a third person: the call becomes a meeting ------------------------------------------------------------

  showAddPerson (open) {
    $('[data-test=add-person-panel]').hidden = !open
    $('[data-action=add-person]').setAttribute('aria-expanded', String(open))
    if (open) $('[data-test=add-person-q]').focus()
  }

  async toMeeting (personId) {
    if (!this.call || !this.call.peer) return
    try {
      const reply = await this.signaling.request('call.to_meeting', { call_id: this.call.id, person: personId })
      this.showAddPerson(false)
      this.onEnded(reply.call)
    } catch (err) {
      this.view.toast(refusal(err, err.message))
    }
  }

  onMeetingInvite (d) {
    if (this.call || this.incoming) return
    this.invite = d
    $('[data-test=invite-by]').textContent = d.by.name
    $('[data-test=invite-title]').textContent = [d.by.unit_name, d.title].filter(Boolean).join(' · ')
    $('[data-test=meeting-invite]').hidden = false
    $('[data-action=join-meeting]').focus()
    this.tones.play('ring', { forMs: 15000 })
  }

  hideInvite () {
    this.invite = null
    $('[data-test=meeting-invite]').hidden = true
    this.tones.stop()
  }

  joinInvite () {
    const invite = this.invite
    this.hideInvite()
    if (invite) location.assign(invite.url)
  }

  finish (outcome, message) {
    const current = this.call
    this.call = null
    if (current) {
      if (current.peer) current.peer.close()
      stopMedia(current.media)
    }
    this.view.stopDuration()
    this.view.setState(message, outcome === 'busy' ? 'busy' : 'ended')
    if (outcome === 'busy') this.tones.play('busy', { forMs: 3500 })
    else this.tones.stop()
    this.showAddPerson(false)
    this.view.closeLater(outcome === 'busy' ? 3500 : 2000, () => this.call)
    this.log.refresh()
    this.refreshRecent()
  }

  // Recent contacts follow the call log: whoever was just called, or called, comes first.
  async refreshRecent () {
    const response = await fetch('/api/v1/calls/recent-contacts')
    if (!response.ok) return
    const { contacts } = await response.json()
    const list = $('[data-test=recent]')
    if (!contacts.length) return
    list.replaceChildren(...contacts.map((c) => recentItem(c, { t })))
    this.refreshPresence()
  }

  // Mute and camera off disable the local track (the other end gets silence, black): no renegotiation.
  toggle (what) {
    if (!this.call) return
    const on = !this.view.pressed(what)
    this.view.setToggle(what, on)
    const tracks = this.call.media ? (what === 'mute' ? this.call.media.getAudioTracks() : this.call.media.getVideoTracks()) : []
    for (const track of tracks) track.enabled = !on
  }
}

function stopMedia (media) {
  if (media) for (const track of media.getTracks()) track.stop()
}

const page = new PhonePage()
window.cityhubPhone = page
page.start().catch((err) => {
  console.error('phone page failed to start', err)
  const box = $('[data-test=phone-connection]')
  box.dataset.state = 'closed'
  box.textContent = err.message || String(err)
})
