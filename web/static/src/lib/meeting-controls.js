// The meeting room's own controls: microphone, camera, screen share, hand, the chair's lock and end, leave,
// chat, and the M / V shortcuts. They act on the page's state (meeting.js) and tell the hub over /ws.
import { setupShortcuts } from './meeting-chrome.js'
import { toast } from './meeting-view.js'

export class MeetingControls {
  // state: the page's state (meeting.js); onLeft(message): the person left the meeting.
  constructor ({ root, t, state, view, meetingId, onLeft }) {
    Object.assign(this, { root, t, state, view, meetingId, onLeft })
    this._bind()
    this.update()
  }

  _$ (selector) {
    return this.root.querySelector(selector)
  }

  // A request about this meeting: its result, or undefined after a refusal (shown, not thrown).
  request (type, fields = {}) {
    return this.state.signaling.request(type, { meeting_id: this.meetingId, ...fields })
      .catch((error) => { toast(this.root, error.message) })
  }

  async sendState () {
    if (this.state.phase !== 'in') return
    await this.state.signaling.request('media.state', { meeting_id: this.meetingId, audio: this.state.audioOn, video: this.state.videoOn })
      .catch(() => {})
  }

  // tell: whether the others are told now (not before joining, nor when the chair did it).
  setAudio (on, tell = true) {
    const state = this.state
    state.audioOn = on
    if (state.local) state.local.getAudioTracks().forEach((tr) => { tr.enabled = on })
    this.update()
    if (tell) this.sendState()
  }

  setVideo (on, tell = true) {
    const state = this.state
    state.videoOn = on
    if (state.local) state.local.getVideoTracks().forEach((tr) => { tr.enabled = on })
    const mine = this.view.tiles.get(state.participantId)
    if (mine) mine.tile.classList.toggle('video-off', !on)
    this.update()
    if (tell) this.sendState()
  }

  async toggleScreen () {
    const state = this.state
    if (state.screen) {
      const { transceiver } = state.screen
      state.screen = null
      this.update()
      await state.media.stopSharing(transceiver)
      await this.request('screen.stop')
      return
    }
    const shared = await state.media.shareScreen(() => { if (state.screen === shared) this.toggleScreen() })
    if (!shared) return
    state.screen = shared
    this.update()
    await this.request('screen.start')
  }

  update () {
    const { state, t } = this
    const $ = (selector) => this._$(selector)
    $('#mute-button').textContent = state.audioOn ? t('Mute') : t('Unmute')
    $('#mute-button').setAttribute('aria-pressed', String(!state.audioOn))
    $('#camera-button').textContent = state.videoOn ? t('Camera off') : t('Camera on')
    $('#camera-button').setAttribute('aria-pressed', String(!state.videoOn))
    $('#screen-button').textContent = state.screen ? t('Stop sharing') : t('Share screen')
    $('#screen-button').hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia)
    $('#hand-button').textContent = state.hand ? t('Lower hand') : t('Raise hand')
    $('#lock-button').textContent = state.locked ? t('Unlock') : t('Lock')
  }

  _bind () {
    const { state, t } = this
    const on = (selector, handler) => this._$(selector).addEventListener('click', handler)
    on('#mute-button', () => this.setAudio(!state.audioOn))
    on('#camera-button', () => this.setVideo(!state.videoOn))
    on('#screen-button', () => this.toggleScreen().catch((error) => toast(this.root, error.message)))
    on('#hand-button', async () => {
      state.hand = !state.hand
      this.update()
      await this.request(state.hand ? 'hand.raise' : 'hand.lower')
    })
    on('#lock-button', () => this.request('moderator.lock', { locked: !state.locked })
      .then((done) => { if (done) toast(this.root, state.locked ? t('Meeting locked') : t('Meeting unlocked')) }))
    on('#end-button', () => {
      if (window.confirm(t('End the meeting for everybody?'))) this.request('moderator.end')
    })
    on('#leave-button', async () => {
      await state.signaling.request('meeting.leave', { meeting_id: this.meetingId }).catch(() => {})
      this.onLeft(t('You left the meeting.'))
    })
    this._$('[data-test="chat-form"]').addEventListener('submit', async (e) => {
      e.preventDefault()
      const input = e.target.elements.text
      const text = input.value.trim()
      if (!text) return
      input.value = ''
      await this.request('chat.send', { text })
    })
    setupShortcuts({
      enabled: () => state.phase === 'in',
      toggleAudio: () => this.setAudio(!state.audioOn),
      toggleVideo: () => this.setVideo(!state.videoOn)
    })
  }
}
