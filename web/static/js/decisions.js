// The meeting page's Decisions panel: loads the panel (server-rendered, translated) into the page's
// extension point, records decisions without leaving the meeting, and refreshes when anyone records one
// (the meeting forwards `decision.recorded` as a window "cityhub:meeting-event").
const panel = document.querySelector('[data-extension="decisions"]')
const meeting = document.getElementById('meeting-data')

function meetingId () {
  if (panel.dataset.meeting) return panel.dataset.meeting
  return JSON.parse(meeting.textContent).meeting.id
}

let latest = 0 // the panel's loads in the order they were asked for: an older answer never replaces a newer one

async function show (response, asked) {
  if (response.status === 401 || response.status === 403 || response.status === 404 || response.status >= 500) {
    return
  }
  const html = await response.text()
  if (asked !== latest) return
  const template = document.createElement('template')
  template.innerHTML = html
  panel.replaceChildren(template.content)
  panel.dataset.loaded = String(Number(panel.dataset.loaded || 0) + 1)
}

async function load () {
  const asked = ++latest
  const response = await fetch(`/supervision/meetings/${encodeURIComponent(meetingId())}/panel`,
    { credentials: 'same-origin', headers: { Accept: 'text/html' } })
  await show(response, asked)
}

if (panel) {
  if (!document.querySelector('link[data-supervision-css]')) {
    const link = document.createElement('link')
    link.rel = 'stylesheet'
    link.href = '/static/css/supervision.css'
    link.dataset.supervisionCss = ''
    document.head.append(link)
  }
  panel.addEventListener('submit', async (event) => {
    const form = event.target.closest('form[data-test="decision-form"]')
    if (!form) return
    event.preventDefault()
    const button = form.querySelector('button[type="submit"]')
    button.disabled = true
    try {
      const asked = ++latest
      const response = await fetch(form.action, {
        method: 'POST', credentials: 'same-origin', body: new URLSearchParams(new FormData(form))
      })
      await show(response, asked)
    } finally {
      button.disabled = false
    }
  })
  panel.addEventListener('change', (event) => {
    // Offer the lead department's people first as the responsible person.
    if (event.target.name !== 'lead_unit') return
    const select = panel.querySelector('select[name="responsible"]')
    for (const group of select.querySelectorAll('optgroup')) group.hidden = group.dataset.unit !== event.target.value
    if (select.selectedOptions[0]?.parentElement?.hidden) select.value = ''
  })
  window.addEventListener('cityhub:meeting-event', (event) => {
    if (event.detail?.event === 'decision.recorded') load().catch(() => {})
  })
  load().catch(() => {})
}
