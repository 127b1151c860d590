// One clock (issue #12): every time a page shows is in the city's time zone (server.timezone), which the server
// writes on <html data-timezone>, whatever the clock of the computer the browser runs on says.

// The city's time zone, e.g. "Asia/Shanghai" (the browser's own when a page lacks it).
export function cityZone () {
  return document.documentElement.dataset.timezone || undefined
}

// A moment (ISO 8601 text or a Date) as the city's clock shows it; `options` as for Intl.DateTimeFormat
// (default: date and time to the minute). Unreadable text is returned as it is.
export function cityTime (moment, options = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }) {
  const date = moment instanceof Date ? moment : new Date(moment)
  if (Number.isNaN(date.getTime())) return String(moment)
  return date.toLocaleString(document.documentElement.lang || undefined, { ...options, timeZone: cityZone(), hour12: false })
}
