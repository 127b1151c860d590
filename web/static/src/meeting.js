// The meeting page: device preview, one big Join button, the lobby, the room (tiles, controls, side panel),
// reconnection after a network drop (fresh peer connection, same meeting). Arriving from a call that became
// this meeting, the person joins at once with the call's devices (lib/call-handoff.js).
import { MeetingConnection, openDevices } from './lib/meeting-media.js'
import { pollQuality, previewDevices, setupTabs } from './lib/meeting-chrome.js'
import { MeetingControls } from './lib/meeting-controls.js'
import { MeetingView, toast } from './lib/meeting-view.js'
import { ReceiveSlots, isSlot } from './lib/meeting-slots.js'
import { PAGE_SIZES, galleryOrder, pageOf } from './lib/meeting-gallery.js'
import { takeHandoff } from './lib/call-handoff.js'
import { PagePhone } from './lib/page-phone.js'
import { MeetingRecording } from './lib/meeting-recording.js'
import { watchNotices } from './lib/notices.js'
import { enhancePickers } from './lib/picker.js'

const data = JSON.parse(document.getElementById('meeting-data').textContent)
const t = (s, vars = {}) => (data.strings[s] || s).replace(/%\((\w+)\)s/g, (_, k) => vars[k] ?? '')
const root = document.getElementById('meeting')
const $ = (sel) => root.querySelector(sel)
const view = new MeetingView(root, t)
const meetingId = data.meeting.id

const state = {
  phase: 'preview',
  signaling: null,
  media: null,
  local: null, // MediaStream of the camera and microphone
  screen: null, // { stream, transceiver }
  participantId: null,
  moderator: false,
  participants: new Map(),
  lobby: new Map(),
  tracks: new Map(), // track id -> { participant_id, kind, source }
  stage: { spotlight: null, main: null }, // who the chair called on, and who stands for the main venue
  floor: new Map(), // requests to speak: participant id -> request
  audioOn: true,
  videoOn: true,
  hand: false,
  locked: data.meeting.locked,
  rejoining: false,
  wantIn: false,
  // the gallery: tiles per page, the page on screen, the participant ids on it, the chair's polling (轮巡) timer
  gallery: { size: 9, page: 0, pages: 1, visible: [], polling: null }
}
window.cityhubMeeting = state // for tests and the browser console

// --- preview ---------------------------------------------------------------------------------------------

async function preview (devices = {}) {
  state.local = await previewDevices({
    video: $('#preview'), cameraSelect: $('#camera-select'), micSelect: $('#mic-select'),
    empty: $('.preview-empty'), previous: state.local, ...devices
  })
}

// From the person's own call: the call's camera and microphone, on or off as they were, and in at once.
async function joinFromCall (note) {
  $('#join-button').disabled = true
  await preview({ cameraId: note.cameraId, micId: note.micId }).catch(() => {})
  // a device of the call is gone (unplugged on the way): whatever the browser offers now
  if (!state.local || !state.local.getTracks().length) await preview().catch(() => {})
  controls.setAudio(note.audio, false)
  controls.setVideo(note.video, false)
  await join()
}
$('#camera-select').addEventListener('change', () => preview().catch(() => {}))
$('#mic-select').addEventListener('change', () => preview().catch(() => {}))

// --- joining ---------------------------------------------------------------------------------------------

// The page's one socket, open from the start: calls ring here (lib/page-phone.js) before and while in the meeting.
const pagePhone = new PagePhone(document.querySelector('[data-test=page-incoming]'))
window.cityhubPagePhone = pagePhone
const pagePhoneReady = pagePhone.start()
pagePhoneReady.catch((error) => console.debug('no phone on this page:', error.code || error))
watchNotices(pagePhone.signaling, pagePhoneReady)
enhancePickers() // the management form (before joining)

async function connectSignaling () {
  if (state.signaling) return state.signaling
  const signaling = pagePhone.signaling
  state.signaling = signaling
  signaling.addEventListener('state', (e) => banner(e.detail))
  signaling.on('reconnected', () => { if (state.wantIn) rejoin('reconnected') })
  for (const name of ['participant.joined', 'participant.updated', 'participant.left', 'lobby.waiting', 'lobby.left',
    'lobby.admitted', 'lobby.denied', 'track.published', 'track.unpublished', 'speaker.active', 'chat.message',
    'meeting.updated', 'meeting.ended', 'sdp.offer', 'media.slots', 'media.pause', 'moderator.muted', 'meeting.removed',
    'meeting.left', 'decision.recorded', 'stage.changed', 'moderator.unmuted', 'floor.requested', 'floor.cancelled',
    'floor.granted', 'floor.declined', 'stage.main', 'recording.started', 'recording.stopped']) {
    signaling.on(name, (detail) => onEvent(name, detail))
  }
  // Every event, including those other domains publish on the meeting's bus channel, reaches the
  // extensions of the side panel (decisions, minutes) as a window event.
  signaling.on('any', (detail) => window.dispatchEvent(new CustomEvent('cityhub:meeting-event', { detail })))
  await pagePhoneReady
  return signaling
}

function banner (connection) {
  const node = $('[data-test="conn-banner"]')
  if (connection === 'reconnecting' && state.wantIn) {
    node.hidden = false
    node.textContent = t('Connection lost: reconnecting…')
  } else if (connection === 'open') {
    node.hidden = true
  }
}

async function join () {
  const button = $('#join-button')
  button.disabled = true
  button.textContent = t('Joining…')
  $('[data-test="join-error"]').hidden = true
  try {
    state.wantIn = true
    const signaling = await connectSignaling()
    const result = await signaling.request('meeting.join', { meeting_id: meetingId, audio: state.audioOn, video: state.videoOn })
    if (result.status === 'lobby') {
      state.participantId = result.participant_id
      setPhase('lobby')
    } else {
      await enter(result)
    }
  } catch (error) {
    state.wantIn = false
    if (error.code === 'meeting_over') { window.location.reload(); return }
    const node = $('[data-test="join-error"]')
    node.hidden = false
    const known = error.code && data.strings['error.' + error.code]
    node.textContent = known || t('Could not join: %(reason)s', { reason: error.message || String(error) })
    node.dataset.code = error.code || ''
  } finally {
    button.disabled = false
    button.textContent = t('Join')
  }
}

function setPhase (phase) {
  state.phase = phase
  view.setPhase(phase)
}

async function enter (result) {
  state.participantId = result.participant_id
  state.moderator = result.moderator
  state.locked = result.meeting.locked
  state.participants = new Map(result.participants.map((p) => [p.participant_id, p]))
  state.tracks = new Map(result.tracks.map((tr) => [tr.track_id, tr]))
  state.lobby = new Map((result.lobby || []).map((p) => [p.participant_id, p]))
  state.stage = { spotlight: null, main: null, ...result.stage }
  state.floor = new Map((result.floor || []).map((r) => [r.participant_id, r]))
  root.classList.toggle('is-moderator', state.moderator)
  slots.clear()
  view.clearTiles()
  view.clearChat()
  for (const message of result.chat) view.addChat(message, message.person_id === data.me.person_id)
  setPhase('in')
  await startMedia(result.ice_servers)
  const me = state.participants.get(state.participantId)
  view.tile(state.participantId, me, { local: true })
  const mine = view.tiles.get(state.participantId)
  state.local.getVideoTracks().forEach((tr) => mine.stream.addTrack(tr))
  // joined as the preview said; switched in the lobby since: the others hear it now
  if (me && (me.audio !== state.audioOn || me.video !== state.videoOn)) await controls.sendState()
  showStage()
  showFloor()
  recording.entered(result.recording, state.moderator)
  controls.update()
  lastView = ''
  renderGallery()
}

// --- the gallery: pages of tiles, and only the page on screen received ------------------------------------

// A phone-sized page starts with pages of 4 (fewer videos on a small screen); a desktop with 9.
const PHONE = window.matchMedia('(max-width: 600px)')
state.gallery.size = PHONE.matches ? 4 : 9
$('#page-size').value = String(state.gallery.size)
let lastView = ''

function renderGallery () {
  if (state.phase !== 'in') return
  const gallery = state.gallery
  const spotlight = state.stage.spotlight && state.participants.has(state.stage.spotlight.participant_id)
    ? state.stage.spotlight.participant_id : null
  const main = state.stage.main && state.participants.has(state.stage.main.participant_id)
    ? state.stage.main.participant_id : null
  const ordered = galleryOrder(state.participants, { me: state.participantId, spotlight, main })
  const page = pageOf(ordered, gallery.size, gallery.page)
  Object.assign(gallery, { page: page.page, pages: page.pages, visible: page.ids })
  if (view.main !== main) { view.setMain(main); refreshPanels() }
  for (const id of spotlight ? [spotlight, ...page.ids] : page.ids) view.tile(id, state.participants.get(id))
  view.showOnly(page.ids)
  $('[data-test="page-info"]').textContent = t('Page %(page)s of %(pages)s', { page: page.page + 1, pages: page.pages })
  $('#page-prev').disabled = page.page === 0
  $('#page-next').disabled = page.page >= page.pages - 1
  sendView()
}

// Whose tiles are on screen, and how many videos fit: the hub points the receive slots at them.
function sendView () {
  if (state.phase !== 'in' || !state.signaling) return
  const wanted = { meeting_id: meetingId, visible: state.gallery.visible, last_n: state.gallery.size }
  const key = JSON.stringify(wanted)
  if (key === lastView) return
  lastView = key
  state.signaling.request('media.view', wanted).catch((error) => console.warn('media.view', error))
}

function turnPage (step) {
  const gallery = state.gallery
  gallery.page = (gallery.page + step + gallery.pages) % gallery.pages
  renderGallery()
}

// Polling (轮巡), the chair's own view: the pages follow one another every so many seconds.
function setPolling (on) {
  clearInterval(state.gallery.polling)
  state.gallery.polling = on ? setInterval(() => turnPage(1), Number($('#poll-seconds').value) * 1000) : null
  const button = $('#poll-button')
  button.textContent = on ? t('Stop polling') : t('Start polling')
  button.setAttribute('aria-pressed', String(on))
}

$('#page-prev').addEventListener('click', () => turnPage(-1))
$('#page-next').addEventListener('click', () => turnPage(1))
$('#page-size').addEventListener('change', () => {
  const size = Number($('#page-size').value)
  if (!PAGE_SIZES.includes(size)) return
  // keep the first tile of the page on screen
  state.gallery.page = Math.floor(state.gallery.page * state.gallery.size / size)
  state.gallery.size = size
  renderGallery()
})
$('#poll-button').addEventListener('click', () => setPolling(state.gallery.polling === null))
$('#poll-seconds').addEventListener('change', () => { if (state.gallery.polling !== null) setPolling(true) })

async function startMedia (iceServers) {
  if (state.media) state.media.close()
  const media = new MeetingConnection({ signaling: state.signaling, meetingId, iceServers })
  state.media = media
  media.addEventListener('track', (e) => onTrack(e.detail))
  media.addEventListener('state', (e) => {
    if (e.detail === 'failed' && state.media === media && state.wantIn) rejoin('media failed')
  })
  if (!state.local || state.local.getTracks().every((tr) => tr.readyState === 'ended')) {
    state.local = await openDevices({ cameraId: $('#camera-select').value || undefined, micId: $('#mic-select').value || undefined })
  }
  const audio = state.local.getAudioTracks()[0]
  const video = state.local.getVideoTracks()[0]
  if (audio) { audio.enabled = state.audioOn; media.addTrack(audio, 'microphone') }
  if (video) { video.enabled = state.videoOn; media.addTrack(video, 'camera') }
  if (!audio && !video) media.addTrack(null, 'microphone') // listen only: one m-line to connect
  if (state.screen) state.screen.transceiver = media.addTrack(state.screen.stream.getVideoTracks()[0], 'screen')
  await media.offer()
}

async function rejoin (why) {
  if (state.rejoining || !state.wantIn) return
  state.rejoining = true
  const previous = state.participantId
  try {
    for (let attempt = 0; state.wantIn; attempt++) {
      try {
        if (state.signaling.state !== 'open') { await waitFor(() => state.signaling.state === 'open'); continue }
        const result = await state.signaling.request('meeting.join', {
          meeting_id: meetingId, replaces: previous, audio: state.audioOn, video: state.videoOn
        })
        if (result.status === 'lobby') { setPhase('lobby'); state.participantId = result.participant_id; return }
        await enter(result)
        toast(root, t('Reconnected.'))
        return
      } catch (error) {
        if (error.code === 'meeting_over') { ended(); return }
        if (['not_invited', 'meeting_locked', 'removed', 'meeting_not_found'].includes(error.code)) {
          leftWith(t('The meeting has ended.'))
          return
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 500 * 2 ** attempt)))
      }
    }
  } finally {
    state.rejoining = false
  }
}

function waitFor (predicate) {
  return new Promise((resolve) => {
    const check = () => predicate() ? resolve() : setTimeout(check, 200)
    check()
  })
}

// The meeting is over: no way back in, the way to its record (this page, rendered again: minutes, decisions,
// attendance).
function ended () {
  leftWith(t('The meeting has ended.'))
  $('#rejoin-button').hidden = true
  $('[data-test="view-record"]').hidden = false
}

function leftWith (message) {
  $('#rejoin-button').hidden = false
  state.wantIn = false
  setPolling(false)
  if (state.media) state.media.close()
  state.media = null
  slots.clear()
  view.clearTiles()
  if (state.screen) { state.screen.stream.getTracks().forEach((tr) => tr.stop()); state.screen = null }
  $('.left-message').textContent = message
  setPhase('left')
  $('[data-test="conn-banner"]').hidden = true
}

// --- remote media ----------------------------------------------------------------------------------------

// With receive slots the hub says whose track each slot carries (media.slots); without, each published track
// comes on an m-line of its own, its msid naming the track.
const slots = new ReceiveSlots({ show: showTrack, hide: dropTrack, host: $('.slot-audio') })

function onTrack (event) {
  const track = event.track
  if (isSlot(track.id)) {
    slots.addTrack(track)
    return
  }
  const info = state.tracks.get(track.id)
  const participantId = info ? info.participant_id : (event.streams[0] && event.streams[0].id)
  if (!participantId) return
  const screen = info && info.source === 'screen'
  const key = screen ? participantId + ':screen' : participantId
  showTrack(key, participantId, track, screen)
  track.addEventListener('ended', () => dropTrack(key, track))
  track.addEventListener('mute', () => {
    // an unpublished track goes quiet before its m-line goes inactive
    if (!state.tracks.has(track.id)) dropTrack(key, track)
  })
}

function showTrack (key, participantId, track, screen) {
  const entry = view.tile(key, state.participants.get(participantId), { screen })
  entry.stream.getTracks().filter((tr) => tr.kind === track.kind).forEach((tr) => entry.stream.removeTrack(tr))
  entry.stream.addTrack(track)
  entry.video.play().catch(() => {})
}

function dropTrack (key, track) {
  const entry = view.tiles.get(key)
  if (!entry) return
  entry.stream.removeTrack(track)
  // a participant keeps its tile in the gallery, with or without video
  if (entry.stream.getTracks().length === 0 && !state.participants.has(key)) view.removeTile(key)
}

// --- events ----------------------------------------------------------------------------------------------

function onEvent (name, detail) {
  switch (name) {
    case 'participant.joined':
    case 'participant.updated': {
      const p = detail.participant
      if (state.phase !== 'in') return
      state.participants.set(p.participant_id, p)
      const entry = view.tiles.get(p.participant_id)
      if (entry) view.label(entry, p, { local: p.participant_id === state.participantId })
      const screen = view.tiles.get(p.participant_id + ':screen')
      if (screen) view.label(screen, p, { screen: true })
      showStage()
      if (name === 'participant.joined') renderGallery()
      break
    }
    case 'participant.left':
      state.participants.delete(detail.participant_id)
      view.removeTile(detail.participant_id)
      view.removeTile(detail.participant_id + ':screen')
      showStage()
      renderGallery()
      break
    case 'lobby.waiting':
      state.lobby.set(detail.participant.participant_id, detail.participant)
      if (state.moderator) toast(root, `${detail.participant.name} · ${t('Waiting in the lobby')}`)
      refreshPanels()
      break
    case 'lobby.left':
      state.lobby.delete(detail.participant_id)
      refreshPanels()
      break
    case 'lobby.admitted':
      toast(root, t('You were let in.'))
      enter(detail).catch((error) => leftWith(String(error.message || error)))
      break
    case 'lobby.denied':
      leftWith(t('The chair turned you away.'))
      break
    case 'track.published':
      state.tracks.set(detail.track.track_id, detail.track)
      break
    case 'track.unpublished':
      state.tracks.delete(detail.track.track_id)
      if (detail.track.source === 'screen') view.removeTile(detail.track.participant_id + ':screen')
      break
    case 'speaker.active':
      view.speaking(detail.participant_id)
      break
    case 'chat.message':
      view.addChat(detail.message, detail.message.person_id === data.me.person_id)
      if (activeTab() !== 'chat') root.querySelector('.unread').hidden = false
      break
    case 'meeting.updated':
      state.locked = detail.meeting.locked
      controls.update()
      break
    case 'meeting.ended':
      ended()
      break
    case 'media.slots':
      slots.update(detail.slots)
      break
    case 'media.pause':
      if (state.media) state.media.pause(detail.track.source, detail.paused).catch((error) => console.warn('pause', error))
      break
    case 'sdp.offer':
      if (state.media) state.media.handleServerOffer(detail.sdp).catch((error) => console.warn('server offer', error))
      break
    case 'floor.requested':
      state.floor.set(detail.request.participant_id, detail.request)
      if (state.moderator) toast(root, `${detail.request.venue ? detail.request.org_unit_name : detail.request.name} · ${t('asks to speak')}`)
      showFloor()
      break
    case 'floor.cancelled':
    case 'floor.granted':
    case 'floor.declined':
      state.floor.delete(detail.participant_id)
      if (name === 'floor.declined' && detail.participant_id === state.participantId) toast(root, t('The chair declined your request to speak.'))
      showFloor()
      break
    case 'stage.changed':
      state.stage = { ...state.stage, spotlight: detail.spotlight }
      showStage()
      renderGallery()
      break
    case 'stage.main':
      // a new main venue is first on the first page: the gallery turns to it, wherever it was
      if (detail.main && detail.main.participant_id !== (state.stage.main || {}).participant_id) state.gallery.page = 0
      state.stage = { ...state.stage, main: detail.main }
      renderGallery()
      refreshPanels()
      break
    case 'moderator.unmuted':
      controls.setAudio(true, false)
      toast(root, detail.reason === 'spotlight' ? t('The chair called on you: your microphone is on.')
        : t("The chair turned everybody's microphone on."))
      break
    case 'moderator.muted':
      if (detail.kind === 'audio') controls.setAudio(false, false)
      else controls.setVideo(false, false)
      toast(root, detail.reason === 'spotlight_ended' ? t('The roll call moved on: your microphone is off again.')
        : t('The chair muted you.'))
      break
    case 'meeting.removed':
      leftWith(t('The chair removed you.'))
      break
    case 'meeting.left':
      if (detail.reason !== 'replaced' && state.wantIn) rejoin(detail.reason)
      break
    case 'recording.started':
    case 'recording.stopped':
      recording.onEvent(name, detail)
      break
  }
}

function showFloor () {
  const asked = state.floor.has(state.participantId)
  const button = $('#floor-button')
  button.textContent = asked ? t('Cancel request') : t('Ask to speak')
  button.setAttribute('aria-pressed', String(asked))
  if (state.moderator) view.renderFloor(state.floor)
}

function showStage () {
  const spotlight = state.stage.spotlight
  view.setSpotlight(spotlight && state.participants.has(spotlight.participant_id) ? spotlight : null)
  $('#clear-spotlight-button').hidden = !spotlight
  refreshPanels()
}

// Roll call through the REST API (the session cookie signs the request in).
async function callOn (personId) {
  const path = `/api/v1/meetings/${encodeURIComponent(meetingId)}/spotlight`
  const response = personId
    ? await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ person: personId }) })
    : await fetch(path, { method: 'DELETE', credentials: 'same-origin' })
  if (!response.ok) toast(root, ((await response.json().catch(() => ({}))).error || {}).message || response.statusText)
}

// The chair makes a participant's unit the main venue (主会场), or none.
async function setMainUnit (unitId) {
  const response = await fetch(`/api/v1/meetings/${encodeURIComponent(meetingId)}`, {
    method: 'PATCH', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ main_unit: unitId })
  })
  if (!response.ok) toast(root, ((await response.json().catch(() => ({}))).error || {}).message || response.statusText)
}

function refreshPanels () {
  view.renderPeople(state.participants, { me: state.participantId, moderator: state.moderator })
  if (state.moderator) view.renderLobby(state.lobby)
}

const controls = new MeetingControls({ root, t, state, view, meetingId, onLeft: leftWith })
const recording = new MeetingRecording({
  root, t, meetingId, view, toast, chat: (message) => view.addChat(message, false)
})

view.onAction = (action, p) => {
  const who = { participant_id: p.participant_id }
  if (action === 'mute') controls.request('moderator.mute', { ...who, kind: 'audio' })
  if (action === 'spotlight') callOn(p.person_id).catch((error) => toast(root, String(error)))
  if (action === 'main' || action === 'unmain') {
    setMainUnit(action === 'main' ? p.org_unit_id : null).catch((error) => toast(root, String(error)))
  }
  if (action === 'grant') controls.request('moderator.grant_floor', who)
  if (action === 'decline') controls.request('moderator.decline_floor', who)
  if (action === 'remove' && window.confirm(t('Remove this participant?'))) controls.request('moderator.remove', who)
  if (action === 'admit') controls.request('moderator.admit', who)
  if (action === 'deny') controls.request('moderator.deny', who)
}

$('#floor-button').addEventListener('click', () => {
  controls.request(state.floor.has(state.participantId) ? 'floor.cancel' : 'floor.request')
})
$('#mute-all-button').addEventListener('click', () => controls.request('moderator.mute_all', { kind: 'audio' }))
$('#unmute-all-button').addEventListener('click', () => controls.request('moderator.unmute_all'))
$('#clear-spotlight-button').addEventListener('click', () => callOn(null).catch((error) => toast(root, String(error))))
$('#join-button').addEventListener('click', join)
$('#rejoin-button').addEventListener('click', () => { setPhase('preview'); preview().catch(() => {}).then(join) })
const activeTab = setupTabs(root, (tab) => { if (tab === 'chat') root.querySelector('.unread').hidden = true })
$('#panel-button').addEventListener('click', () => root.classList.toggle('side-open'))
pollQuality($('[data-test="quality"]'), () => (state.phase === 'in' ? state.media : null), t)

window.addEventListener('pagehide', () => { if (state.signaling) state.signaling.stop() })
// (an ended or cancelled meeting's page is its record, served without this script)
const fromCall = takeHandoff(meetingId)
if (fromCall) joinFromCall(fromCall)
else preview().catch(() => { $('.preview-empty').hidden = false })
