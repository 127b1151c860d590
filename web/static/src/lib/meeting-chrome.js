// The meeting page's surroundings: side panel tabs, keyboard shortcuts, the connection quality badge,
// and the camera/microphone pickers of the preview.
import { listDevices, openDevices } from './meeting-media.js'

// Tabs of the side panel; onChange(name) after a switch. Returns () => the active tab's name.
export function setupTabs (root, onChange = () => {}) {
  let active = 'participants'
  for (const tab of root.querySelectorAll('[data-tab]')) {
    tab.addEventListener('click', () => {
      active = tab.dataset.tab
      for (const other of root.querySelectorAll('[data-tab]')) other.setAttribute('aria-selected', String(other === tab))
      for (const panel of root.querySelectorAll('[data-panel]')) panel.hidden = panel.dataset.panel !== active
      onChange(active)
    })
  }
  return () => active
}

// M toggles the microphone, V the camera, unless the person is typing.
export function setupShortcuts ({ enabled, toggleAudio, toggleVideo }) {
  document.addEventListener('keydown', (e) => {
    if (!enabled() || e.ctrlKey || e.metaKey || e.altKey) return
    if (e.target.closest && e.target.closest('input, textarea, select, [contenteditable]')) return
    if (e.key === 'm' || e.key === 'M') { e.preventDefault(); toggleAudio() }
    if (e.key === 'v' || e.key === 'V') { e.preventDefault(); toggleVideo() }
  })
}

// The quality badge from getStats every two seconds; connection() returns the MeetingConnection or null.
export function pollQuality (node, connection, t) {
  setInterval(async () => {
    const media = connection()
    if (!media) { node.hidden = true; return }
    const quality = await media.quality().catch(() => null)
    node.hidden = quality === null
    if (quality) {
      node.dataset.quality = quality
      node.querySelector('.quality-text').textContent = `${t('Connection quality')}: ${t(quality)}`
    }
  }, 2000)
}

// The preview: opens the chosen devices (cameraId / micId, else those of the selects), lists them in the two
// selects, shows the picture.
export async function previewDevices ({ video, cameraSelect, micSelect, empty, previous, cameraId, micId }) {
  if (previous) previous.getTracks().forEach((tr) => tr.stop())
  const stream = await openDevices({ cameraId: cameraId || cameraSelect.value || undefined, micId: micId || micSelect.value || undefined })
  video.srcObject = stream
  empty.hidden = stream.getTracks().length > 0
  const { cameras, mics } = await listDevices()
  for (const [select, devices, track] of [[cameraSelect, cameras, stream.getVideoTracks()[0]],
    [micSelect, mics, stream.getAudioTracks()[0]]]) {
    const current = track ? track.getSettings().deviceId : select.value
    select.replaceChildren(...devices.map((d, i) => new Option(d.label || `${select.id.split('-')[0]} ${i + 1}`, d.deviceId)))
    if (current) select.value = current
    select.disabled = devices.length === 0
  }
  return stream
}
