// A call that became a meeting (docs/calls.md): the phone page leaves a one-time note in this tab's
// sessionStorage, and the meeting page it opens joins at once with the call's camera and microphone, each on
// or off as it was in the call. The note is taken (removed) when read and is only good for a minute, so a
// reload later, another tab or a link never joins anyone by surprise.

const KEY = 'cityhub.callToMeeting'
const FRESH_MS = 60_000

// The phone page, as the call ends with outcome "meeting": stream is the call's camera and microphone.
export function leaveForMeeting (meetingId, stream) {
  const track = (kind) => (stream ? stream.getTracks().find((tr) => tr.kind === kind && tr.readyState === 'live') : null)
  const audio = track('audio')
  const video = track('video')
  const note = {
    meetingId,
    at: Date.now(),
    audio: Boolean(audio && audio.enabled),
    video: Boolean(video && video.enabled),
    micId: audio ? audio.getSettings().deviceId : null,
    cameraId: video ? video.getSettings().deviceId : null
  }
  try {
    sessionStorage.setItem(KEY, JSON.stringify(note))
  } catch { /* storage off: the meeting page shows its Join button, as for everyone else */ }
}

// The meeting page: the note for this meeting, or null (none, stale, or for another meeting).
export function takeHandoff (meetingId) {
  let note = null
  try {
    note = JSON.parse(sessionStorage.getItem(KEY) || 'null')
    sessionStorage.removeItem(KEY)
  } catch { return null }
  if (!note || note.meetingId !== meetingId || !(Date.now() - note.at < FRESH_MS)) return null
  return note
}
