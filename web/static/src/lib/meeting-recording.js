// Recording on the meeting page: everybody sees and hears that the meeting is recorded (a red mark in the header
// and on the tiles, a line in the chat, a notice, a chime), people joining later too; the chair starts and stops
// it. A recording that stopped by itself (the disk filled up) says why.
import { Tones } from './tones.js'

const REASONS = {
  disk_full: 'The recording stopped: the recordings disk is full.',
  write_error: 'The recording stopped: it could not be written.',
  interrupted: 'The recording stopped: the media server was restarted.'
}

export class MeetingRecording {
  constructor ({ root, t, meetingId, view, toast, chat }) {
    Object.assign(this, { root, t, meetingId, view, toast, chat })
    this.current = null
    this.moderator = false
    this.tones = new Tones()
    this.badge = root.querySelector('[data-test="recording-badge"]')
    this.mark = root.querySelector('[data-test="recording-mark"]')
    this.button = root.querySelector('#record-button')
    this.button.addEventListener('click', () => this.toggle())
  }

  // The join result: recorded already, or not; the chair's controls.
  entered (recording, moderator) {
    this.moderator = moderator
    this.show(recording)
  }

  show (recording) {
    this.current = recording && recording.status === 'recording' ? recording : null
    const on = Boolean(this.current)
    this.root.classList.toggle('is-recording', on)
    this.badge.hidden = !on
    this.mark.hidden = !on
    this.button.textContent = on ? this.t('Stop recording') : this.t('Record')
    this.button.setAttribute('aria-pressed', String(on))
  }

  onEvent (name, detail) {
    if (name === 'recording.started') {
      this.show(detail.recording)
      this.tones.chime('recording')
      this.note(this.t('This meeting is being recorded.'))
    } else if (name === 'recording.stopped') {
      this.show(null)
      this.tones.chime('notRecording')
      const why = REASONS[detail.reason]
      this.note(why ? this.t(why) : this.t('The recording has stopped.'))
    }
  }

  note (text) {
    this.toast(this.root, text)
    this.chat({ name: this.t('Meeting'), text, sent_at: new Date().toISOString(), system: true })
  }

  async toggle () {
    const path = `/api/v1/meetings/${encodeURIComponent(this.meetingId)}/recording`
    this.button.disabled = true
    try {
      const response = await fetch(path, { method: this.current ? 'DELETE' : 'POST', credentials: 'same-origin' })
      if (!response.ok) {
        const error = (await response.json().catch(() => ({}))).error || {}
        this.toast(this.root, error.message || response.statusText)
      }
    } catch (error) {
      this.toast(this.root, String(error))
    } finally {
      this.button.disabled = false
    }
  }
}
