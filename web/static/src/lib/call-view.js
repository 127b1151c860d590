// The phone page's in-call view (the other end full size, self view, mute, camera, hang up, duration) and
// its toast: what the page shows, not what the call does.
import { formatDuration } from './call-log.js'

const $ = (selector) => document.querySelector(selector)

// What the mute and camera buttons say and show, pressed or not.
const TOGGLES = {
  mute: { off: ['Mute', '#i-mic'], on: ['Unmute', '#i-mic-off'] },
  camera: { off: ['Camera off', '#i-camera'], on: ['Camera on', '#i-camera-off'] }
}

export class CallView {
  constructor (t) {
    this.t = t
    this.view = $('[data-test=in-call]')
    this.durationTimer = null
  }

  open (name, state) {
    clearTimeout(this.closeTimer)
    this.view.hidden = false
    this.view.dataset.outcome = ''
    $('[data-test=call-peer]').textContent = name || ''
    $('[data-test=call-duration]').textContent = '00:00'
    this.setToggle('mute', false)
    this.setToggle('camera', false)
    this.setState(state, 'calling')
  }

  close () {
    this.view.hidden = true
    for (const video of this.view.querySelectorAll('video')) video.srcObject = null
  }

  // Closes the view after ms, unless open() is called again meanwhile.
  closeLater (ms, unless) {
    clearTimeout(this.closeTimer)
    this.closeTimer = setTimeout(() => { if (!unless()) this.close() }, ms)
  }

  setToggle (what, pressed) {
    const button = this.view.querySelector(`[data-action=${what}]`)
    const [label, iconHref] = TOGGLES[what][pressed ? 'on' : 'off']
    button.setAttribute('aria-pressed', String(pressed))
    button.querySelector('.ctl-label').textContent = this.t(label)
    button.querySelector('use').setAttribute('href', iconHref)
  }

  pressed (what) {
    return this.view.querySelector(`[data-action=${what}]`).getAttribute('aria-pressed') === 'true'
  }

  showSelf (media) {
    const self = $('[data-test=self-video]')
    self.srcObject = media && media.getVideoTracks().length ? media : null
    self.hidden = !self.srcObject
    if (!media) this.toast(this.t('Camera or microphone not available'))
  }

  showRemote (stream) {
    const video = $('[data-test=remote-video]')
    if (video.srcObject !== stream) video.srcObject = stream
  }

  setState (text, state) {
    $('[data-test=call-state]').textContent = text
    this.view.dataset.state = state
  }

  setOutcome (outcome) {
    this.view.dataset.outcome = outcome || ''
  }

  startDuration () {
    clearInterval(this.durationTimer)
    const started = Date.now()
    const tick = () => { $('[data-test=call-duration]').textContent = formatDuration((Date.now() - started) / 1000) }
    tick()
    this.durationTimer = setInterval(tick, 1000)
  }

  stopDuration () {
    clearInterval(this.durationTimer)
  }

  toast (message) {
    const box = $('[data-test=toast]')
    box.textContent = message
    box.hidden = false
    clearTimeout(this.toastTimer)
    this.toastTimer = setTimeout(() => { box.hidden = true }, 4000)
  }
}
