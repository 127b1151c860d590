// One meeting's media: a single RTCPeerConnection with the hub's SFU (docs/signaling.md, "Meeting flow").
// The client offers its own tracks; the SFU offers whenever other participants' tracks come or go.
// The server is the impolite side: on glare we roll back, answer its offer, then offer again.

export class MeetingConnection extends EventTarget {
  constructor ({ signaling, meetingId, iceServers = [] }) {
    super()
    this.signaling = signaling
    this.meetingId = meetingId
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' })
    this.sources = new Map() // transceiver -> "camera" | "microphone" | "screen"
    this.chain = Promise.resolve() // descriptions are applied one at a time, in order
    this.offering = false
    this.pendingCandidates = []
    this.closed = false
    this.paused = {} // source -> true while the hub asked us not to send it
    this.pc.addEventListener('icecandidate', (e) => this._candidate(e.candidate))
    this.pc.addEventListener('track', (e) => this.dispatchEvent(new CustomEvent('track', { detail: e })))
    this.pc.addEventListener('connectionstatechange', () => {
      this.dispatchEvent(new CustomEvent('state', { detail: this.pc.connectionState }))
    })
  }

  // Publishes a track (or a receive-only slot when track is null) before the first offer or for a screen share.
  addTrack (track, source) {
    const transceiver = track
      ? this._send(track, source)
      : this.pc.addTransceiver(source === 'microphone' ? 'audio' : 'video', { direction: 'recvonly' })
    if (track) this.sources.set(transceiver, source)
    return transceiver
  }

  // The camera goes out in three temporal layers (VP8 L1T3): where it is a small tile the hub forwards only the
  // base layer, a quarter of the frames, and re-encodes nothing. A browser that cannot sends one layer.
  _send (track, source) {
    if (source === 'camera') {
      try {
        return this.pc.addTransceiver(track, { direction: 'sendonly', sendEncodings: [{ scalabilityMode: 'L1T3' }] })
      } catch { /* no temporal layers here: one layer it is */ }
    }
    return this.pc.addTransceiver(track, { direction: 'sendonly' })
  }

  // Publishes a screen (the browser asks which); null when the person cancels. onEnded: they stopped it.
  async shareScreen (onEnded) {
    let stream
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true })
    } catch { return null }
    const track = stream.getVideoTracks()[0]
    const shared = { stream, transceiver: this.addTrack(track, 'screen') }
    track.addEventListener('ended', onEnded)
    await this.offer()
    return shared
  }

  async stopSharing (transceiver) {
    if (transceiver.sender.track) transceiver.sender.track.stop()
    transceiver.direction = 'inactive'
    this.sources.delete(transceiver)
    await this.offer()
  }

  // The hub says nobody receives our video of this source (paused) or that somebody does again: the encoder
  // stops and starts, and the bandwidth goes to what is watched.
  async pause (source, paused) {
    for (const [transceiver, published] of this.sources) {
      if (published !== source || transceiver.sender.track === null) continue
      const params = transceiver.sender.getParameters()
      if (!params.encodings || !params.encodings.length) continue
      params.encodings.forEach((encoding) => { encoding.active = !paused })
      await transceiver.sender.setParameters(params)
      this.paused = { ...this.paused, [source]: paused }
    }
  }

  _sourcesByMid () {
    const result = {}
    for (const [transceiver, source] of this.sources) {
      if (transceiver.mid !== null && transceiver.direction !== 'inactive') result[transceiver.mid] = source
    }
    return result
  }

  _run (job) {
    this.chain = this.chain.then(job, job)
    return this.chain
  }

  // Our offer (tracks we publish); after a glare it runs again once the SFU's offer is answered.
  offer (attempt = 0) {
    let glare = false
    const done = this._run(async () => {
      if (this.closed) return
      this.offering = true
      try {
        await this.pc.setLocalDescription(await this.pc.createOffer())
        const reply = await this.signaling.request('sdp.offer', {
          meeting_id: this.meetingId, sdp: this.pc.localDescription.sdp, sources: this._sourcesByMid()
        })
        await this.pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp })
      } catch (error) {
        if (error.code !== 'glare' || attempt >= 5) throw error
        glare = true
        await this.pc.setLocalDescription({ type: 'rollback' })
      } finally {
        this.offering = false
        this._flushCandidates()
      }
    })
    return done.then(() => glare
      ? new Promise((resolve) => setTimeout(resolve, 150 * (attempt + 1))).then(() => this.offer(attempt + 1))
      : undefined)
  }

  // A server offer (event sdp.offer).
  handleServerOffer (sdp) {
    return this._run(async () => {
      if (this.closed) return
      if (this.pc.signalingState !== 'stable') await this.pc.setLocalDescription({ type: 'rollback' })
      await this.pc.setRemoteDescription({ type: 'offer', sdp })
      await this.pc.setLocalDescription(await this.pc.createAnswer())
      await this.signaling.request('sdp.answer', { meeting_id: this.meetingId, sdp: this.pc.localDescription.sdp })
    })
  }

  _candidate (candidate) {
    const init = candidate ? candidate.toJSON() : null
    if (this.offering || !this.pc.remoteDescription) {
      this.pendingCandidates.push(init)
      return
    }
    this._sendCandidate(init)
  }

  _flushCandidates () {
    const queued = this.pendingCandidates
    this.pendingCandidates = []
    for (const init of queued) this._sendCandidate(init)
  }

  _sendCandidate (init) {
    if (this.closed) return
    const candidate = init && init.candidate
      ? { candidate: init.candidate, sdpMid: init.sdpMid, sdpMLineIndex: init.sdpMLineIndex }
      : null
    this.signaling.request('ice.candidate', { meeting_id: this.meetingId, candidate }).catch(() => {})
  }

  // good | fair | poor from round-trip time and loss since the previous call (null while unknown).
  async quality () {
    if (this.closed) return null
    const stats = await this.pc.getStats()
    let rtt = null
    let lost = 0
    let received = 0
    stats.forEach((report) => {
      if (report.type === 'candidate-pair' && report.nominated && report.currentRoundTripTime !== undefined) {
        rtt = report.currentRoundTripTime
      }
      if (report.type === 'inbound-rtp') {
        lost += report.packetsLost || 0
        received += report.packetsReceived || 0
      }
    })
    const previous = this._lastCounts || { lost: 0, received: 0 }
    this._lastCounts = { lost, received }
    const dLost = Math.max(0, lost - previous.lost)
    const dReceived = Math.max(0, received - previous.received)
    const loss = dLost + dReceived > 0 ? dLost / (dLost + dReceived) : 0
    if (rtt === null && dReceived === 0) return null
    if (loss > 0.08 || (rtt !== null && rtt > 0.4)) return 'poor'
    if (loss > 0.02 || (rtt !== null && rtt > 0.15)) return 'fair'
    return 'good'
  }

  close () {
    this.closed = true
    try { this.pc.close() } catch {}
  }
}

// Camera and microphone for the preview and the meeting; the chosen devices stay chosen.
export async function openDevices ({ cameraId, micId } = {}) {
  const want = {
    audio: micId ? { deviceId: { exact: micId } } : true,
    video: cameraId ? { deviceId: { exact: cameraId }, width: { ideal: 640 }, height: { ideal: 360 } }
      : { width: { ideal: 640 }, height: { ideal: 360 } }
  }
  try {
    return await navigator.mediaDevices.getUserMedia(want)
  } catch {
    // One of the two may be missing: try each alone, so a person without a camera still speaks.
    const stream = new MediaStream()
    for (const kind of ['audio', 'video']) {
      try {
        const single = await navigator.mediaDevices.getUserMedia({ [kind]: want[kind] })
        single.getTracks().forEach((t) => stream.addTrack(t))
      } catch {}
    }
    return stream
  }
}

export async function listDevices () {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return { cameras: [], mics: [] }
  const devices = await navigator.mediaDevices.enumerateDevices()
  return {
    cameras: devices.filter((d) => d.kind === 'videoinput'),
    mics: devices.filter((d) => d.kind === 'audioinput')
  }
}
