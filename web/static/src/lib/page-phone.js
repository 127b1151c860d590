// The phone on every page (docs/calls.md "Ringing on every page"): a page that is not the phone holds the
// signed-in person's /ws as a phone device, so a call rings wherever the official is working. It rings (the
// ringtone, a panel with the caller's name and unit, a browser notification when the tab is hidden); Answer
// opens the call in the phone tab (window name "cityhub-phone": one phone tab, reused), so the page and any
// unsaved work on it stay as they are; Decline declines. The missed-calls badge follows on the same socket.

import { Signaling } from './signaling.js'
import { Tones } from './tones.js'
import { setNavBadge } from './nav-badge.js'

export const PHONE_WINDOW = 'cityhub-phone'

export class PagePhone {
  // panel: the [data-test=page-incoming] element (page_phone.html). The page may use `signaling` for more.
  constructor (panel) {
    this.panel = panel
    this.signaling = new Signaling()
    this.tones = new Tones()
    this.deviceId = null // set once registered as a phone device
    this.ringing = null // the call.incoming event data ringing here
    this.notification = null
    this.$ = (name) => panel.querySelector(`[data-part=${name}]`)
  }

  // Starts the socket and registers this page as a phone device; rejects when the socket cannot start (signed
  // out meanwhile).
  async start () {
    const sig = this.signaling
    sig.on('call.incoming', (d) => this.ring(d))
    sig.on('call.ringing_stopped', (d) => { if (this.ringing && this.ringing.call.id === d.call_id) this.hide() })
    sig.on('call.missed', (d) => setNavBadge('missed-calls', d.count))
    sig.on('disconnected', () => this.hide()) // the hub cancels what rang on a socket that dropped
    sig.on('reconnected', () => this.register())
    // this node is going away: reconnect now (to another node)
    sig.on('server.draining', () => { if (sig.ws) sig.ws.close(1000, 'moving') })
    this.$('answer').addEventListener('click', () => this.answer())
    this.$('decline').addEventListener('click', () => this.decline())
    this.unlockOnFirstGesture()
    await sig.start()
    await this.register()
  }

  async register () {
    try {
      const reply = await this.signaling.request('call.register', { device: 'browser', label: 'page' })
      this.deviceId = reply.device_id
      setNavBadge('missed-calls', reply.missed)
    } catch (error) {
      console.debug('this page is no phone device:', error.code || error)
    }
  }

  // Browsers keep audio silent and refuse notifications until the page got a click or a key: the first one
  // unlocks the ringtone and asks once whether calls may show as notifications.
  unlockOnFirstGesture () {
    const unlock = () => {
      this.tones.unlock()
      if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission()
    }
    document.addEventListener('click', unlock, { once: true, capture: true })
    document.addEventListener('keydown', unlock, { once: true, capture: true })
  }

  ring (d) {
    if (this.ringing) return
    this.ringing = d
    const caller = d.caller || {}
    this.$('name').textContent = caller.name || ''
    this.$('unit').textContent = [caller.unit_name, caller.title].filter(Boolean).join(' · ')
    const duty = this.$('duty')
    duty.hidden = !d.duty_line
    duty.textContent = d.duty_line ? `${this.panel.dataset.dutyLabel}: ${d.duty_line.name}` : ''
    this.$('open-phone').hidden = true
    this.panel.dataset.callId = d.call.id
    // no focus moves: the official may be typing, and a key must not answer by accident
    this.panel.hidden = false
    this.tones.play('ring')
    if (document.hidden) this.notify(caller)
  }

  notify (caller) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return
    try {
      this.notification = new Notification(`${this.panel.dataset.title}: ${caller.name || ''}`, {
        body: caller.unit_name || '', tag: `cityhub-call-${this.ringing.call.id}`, requireInteraction: true
      })
      this.notification.onclick = () => { window.focus(); this.notification.close() }
    } catch (error) {
      console.debug('no notification:', error)
    }
  }

  hide () {
    this.ringing = null
    this.panel.hidden = true
    this.tones.stop()
    if (this.notification) { this.notification.close(); this.notification = null }
  }

  // The call is answered in the phone tab (it answers /phone?answer=ID as it opens); this page stays as it is.
  answer () {
    const d = this.ringing
    if (!d) return
    const url = `/phone?answer=${encodeURIComponent(d.call.id)}`
    const tab = window.open(url, PHONE_WINDOW)
    if (tab) {
      this.hide()
      return
    }
    // a blocked pop-up: the link does the same on the next click, the call keeps ringing elsewhere meanwhile
    this.tones.stop()
    const link = this.$('open-phone')
    link.href = url
    link.hidden = false
    link.focus()
  }

  async decline () {
    const d = this.ringing
    if (!d) return
    this.hide()
    try {
      await this.signaling.request('call.decline', { call_id: d.call.id })
    } catch (error) {
      console.debug('decline:', error.code || error) // it stopped ringing anyway
    }
  }
}
