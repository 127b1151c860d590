// The media of one video phone call in the browser: an RTCPeerConnection to the other end (peer to peer),
// with the offer/answer and trickled ICE candidates relayed by the hub over /ws (call.signal).
// The caller makes the offer once the callee answered; the callee answers it.

export async function localMedia () {
  // Camera and microphone, else the microphone alone, else nothing (the call still shows the other end).
  for (const constraints of [{ audio: true, video: { width: 640, height: 480 } }, { audio: true }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints)
    } catch { /* try with less */ }
  }
  return null
}

export class PhoneCall extends EventTarget {
  constructor (signaling, { callId, iceServers, stream }) {
    super()
    this.signaling = signaling
    this.callId = callId
    this.stream = stream
    this.remote = new MediaStream()
    this.pendingCandidates = []
    this.closed = false
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [] })
    const kinds = new Set()
    if (stream) {
      for (const track of stream.getTracks()) {
        this.pc.addTrack(track, stream)
        kinds.add(track.kind)
      }
    }
    for (const kind of ['audio', 'video']) {
      if (!kinds.has(kind)) this.pc.addTransceiver(kind, { direction: 'recvonly' })
    }
    this.pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && e.candidate.candidate) this._send({ candidate: e.candidate.toJSON() })
    })
    this.pc.addEventListener('track', (e) => {
      this.remote.addTrack(e.track)
      this.dispatchEvent(new CustomEvent('remote', { detail: this.remote }))
    })
    this.pc.addEventListener('connectionstatechange', () => {
      this.dispatchEvent(new CustomEvent('state', { detail: this.pc.connectionState }))
    })
  }

  _send (fields) {
    if (this.closed) return
    this.signaling.request('call.signal', { call_id: this.callId, ...fields }).catch((err) => {
      // The call may have ended meanwhile: call.ended tells the page.
      console.debug('call.signal refused', err.code)
    })
  }

  async offer () {
    const offer = await this.pc.createOffer()
    await this.pc.setLocalDescription(offer)
    this._send({ description: { type: offer.type, sdp: offer.sdp } })
  }

  async onSignal (data) {
    if (this.closed) return
    if (data.description) {
      await this.pc.setRemoteDescription(data.description)
      for (const candidate of this.pendingCandidates.splice(0)) await this._addCandidate(candidate)
      if (data.description.type === 'offer') {
        const answer = await this.pc.createAnswer()
        await this.pc.setLocalDescription(answer)
        this._send({ description: { type: answer.type, sdp: answer.sdp } })
      }
    } else if (data.candidate) {
      if (!this.pc.remoteDescription) this.pendingCandidates.push(data.candidate)
      else await this._addCandidate(data.candidate)
    }
  }

  async _addCandidate (candidate) {
    try {
      await this.pc.addIceCandidate(candidate)
    } catch (err) {
      console.debug('ignoring a remote candidate', err)
    }
  }

  // Frames the browser decoded from the other end's video so far (from the receiver's statistics).
  async framesDecoded () {
    let frames = 0
    const stats = await this.pc.getStats()
    stats.forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') frames += report.framesDecoded || 0
    })
    return frames
  }

  close () {
    if (this.closed) return
    this.closed = true
    this.pc.close()
  }
}
