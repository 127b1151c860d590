// The signing pad (手写签批): Pointer Events from a pen, a finger or a mouse, with the pen's pressure where the
// device gives one; each stroke shows as it is drawn; Clear empties the pad. The strokes (x and y as fractions of
// the pad, t in milliseconds since the stroke began, p the pressure) go either with a version's sign-off, sent
// by Confirm (a document's version page), or with the form the pad sits in, as JSON in the hidden field the
// canvas names (an item's closing).
const canvas = document.getElementById('signpad-canvas')
const padData = document.getElementById('signpad-data')
const data = padData ? JSON.parse(padData.textContent) : { strings: {} }
const t = (s, vars = {}) => (data.strings[s] || s).replace(/%\((\w+)\)s/g, (_, k) => vars[k] ?? '')
const status = document.getElementById('signpad-status')
const confirmButton = document.getElementById('signpad-confirm')
const field = canvas.dataset.field ? document.getElementById(canvas.dataset.field) : null
const pen = canvas.getContext('2d')
const INK = '#14183c'
let strokes = []
let current = null
let began = 0

const clamp = (v) => Math.min(1, Math.max(0, v))
const round = (v) => Math.round(v * 10000) / 10000

function fit () {
  // as many canvas pixels as the screen shows, so the ink is sharp on a phone too
  const box = canvas.getBoundingClientRect()
  const ratio = window.devicePixelRatio || 1
  canvas.width = Math.round(box.width * ratio)
  canvas.height = Math.round(box.height * ratio)
  redraw()
}

function pointOf (event) {
  const box = canvas.getBoundingClientRect()
  return {
    x: round(clamp((event.clientX - box.left) / box.width)),
    y: round(clamp((event.clientY - box.top) / box.height)),
    t: Math.max(0, Math.round(event.timeStamp - began)),
    p: round(event.pressure > 0 ? event.pressure : 0.5)
  }
}

function segment (a, b) {
  const scale = canvas.width / 600
  pen.strokeStyle = INK
  pen.fillStyle = INK
  pen.lineCap = 'round'
  pen.lineJoin = 'round'
  pen.lineWidth = (2 + 5 * (a.p + b.p) / 2) * scale
  pen.beginPath()
  pen.moveTo(a.x * canvas.width, a.y * canvas.height)
  pen.lineTo(b.x * canvas.width, b.y * canvas.height)
  pen.stroke()
}

function redraw () {
  pen.clearRect(0, 0, canvas.width, canvas.height)
  for (const stroke of strokes) {
    if (stroke.length === 1) segment(stroke[0], stroke[0])
    for (let i = 1; i < stroke.length; i++) segment(stroke[i - 1], stroke[i])
  }
}

canvas.addEventListener('pointerdown', (event) => {
  event.preventDefault()
  canvas.setPointerCapture(event.pointerId)
  began = event.timeStamp
  current = [pointOf(event)]
  strokes.push(current)
  segment(current[0], current[0])
  if (status) status.textContent = ''
})
canvas.addEventListener('pointermove', (event) => {
  if (!current) return
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event]
  for (const one of events.length ? events : [event]) {
    const point = pointOf(one)
    segment(current[current.length - 1], point)
    current.push(point)
  }
})
for (const end of ['pointerup', 'pointercancel', 'lostpointercapture']) {
  canvas.addEventListener(end, () => { current = null })
}

document.getElementById('signpad-clear').addEventListener('click', () => {
  strokes = []
  current = null
  redraw()
  if (status) status.textContent = ''
})

if (field) {
  field.form.addEventListener('submit', () => {
    field.value = strokes.some((s) => s.length) ? JSON.stringify(strokes) : ''
  })
}

confirmButton?.addEventListener('click', async () => {
  if (!strokes.some((s) => s.length)) {
    status.textContent = t('Draw your signature first.')
    return
  }
  confirmButton.disabled = true
  status.textContent = t('Signing…')
  try {
    const response = await fetch(`/api/v1/docs/${encodeURIComponent(data.docId)}/signoffs`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ version_id: data.versionId, strokes })
    })
    if (!response.ok) {
      const error = (await response.json().catch(() => ({}))).error || {}
      throw new Error(error.message || response.statusText)
    }
    status.textContent = t('Signed.')
    window.location.reload()
  } catch (error) {
    status.textContent = t('Could not sign: %(reason)s', { reason: error.message || String(error) })
    confirmButton.disabled = false
  }
})

window.addEventListener('resize', fit)
fit()
