// Receive slots (the hub's meetings.last_n > 0): every participant gets a fixed set of m-lines, msid video-0 …
// and audio-0 …, and the media.slots event says whose track each carries now. A video slot is shown on that
// participant's tile and moves to another tile when the hub points it elsewhere (a roll call, a new speaker);
// an audio slot plays by itself: whoever is loud enough to be in one is heard.
export const isSlot = (id) => /^(video|audio)-\d+$/.test(id)

export class ReceiveSlots {
  // show(key, participantId, track, screen) puts a video track on a tile; hide(key, track) takes it off.
  constructor ({ show, hide, host }) {
    this.show = show
    this.hide = hide
    this.host = host
    this.tracks = new Map() // slot id -> MediaStreamTrack
    this.contents = new Map() // slot id -> { participant_id, source, ... } or null
    this.placed = new Map() // video slot id -> tile key
    this.players = new Map() // audio slot id -> <audio>
  }

  addTrack (track) {
    this.tracks.set(track.id, track)
    if (track.kind === 'audio') this._play(track)
    else this._place(track.id)
  }

  update (slots) {
    for (const slot of slots) {
      this.contents.set(slot.slot_id, slot.track)
      if (slot.kind === 'video') this._place(slot.slot_id)
    }
  }

  // The participant ids whose video a slot carries now.
  shown () {
    return [...this.placed.values()]
  }

  clear () {
    for (const player of this.players.values()) { player.srcObject = null; player.remove() }
    this.players.clear()
    this.tracks.clear()
    this.contents.clear()
    this.placed.clear()
  }

  _play (track) {
    const player = document.createElement('audio')
    player.autoplay = true
    player.dataset.slot = track.id
    player.srcObject = new MediaStream([track])
    this.host.append(player)
    this.players.set(track.id, player)
    player.play().catch(() => {})
  }

  _place (slotId) {
    const track = this.tracks.get(slotId)
    if (!track) return
    const content = this.contents.get(slotId) || null
    const screen = Boolean(content && content.source === 'screen')
    const key = content ? (screen ? content.participant_id + ':screen' : content.participant_id) : null
    const was = this.placed.get(slotId)
    if (was === key) return
    if (was) this.hide(was, track)
    if (key) {
      this.placed.set(slotId, key)
      this.show(key, content.participant_id, track, screen)
    } else {
      this.placed.delete(slotId)
    }
  }
}
