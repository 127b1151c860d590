// The playback page: chapters and decisions seek the player; ?t= opens at a moment (a decision's "▶ 00:12:34");
// while the archive is being made the page looks again every few seconds; the chair can compose a failed one again.
const data = JSON.parse(document.getElementById('recording-data').textContent)
const t = (s) => data.strings[s] || s
const player = document.getElementById('player')

function seek (seconds) {
  if (!player) return
  const go = () => { player.currentTime = seconds; player.play().catch(() => {}) }
  if (player.readyState >= 1) go()
  else player.addEventListener('loadedmetadata', go, { once: true })
}

for (const button of document.querySelectorAll('button.seek')) {
  button.addEventListener('click', () => seek(Number(button.dataset.at)))
}
if (player && data.start > 0) seek(data.start)

if (['composing', 'recording'].includes(data.recording.status)) {
  setTimeout(() => window.location.reload(), 5000)
}

const retry = document.getElementById('retry')
if (retry) {
  retry.addEventListener('click', async () => {
    retry.disabled = true
    retry.textContent = t('Composing…')
    const response = await fetch(`/api/v1/recordings/${encodeURIComponent(data.recording.id)}/archive`,
      { method: 'POST', credentials: 'same-origin' })
    if (response.ok) window.location.reload()
    else { retry.disabled = false; retry.textContent = t('Compose again') }
  })
}
