// Counts on the main navigation's links (base.html), e.g. missed calls on the Phone link. The server renders
// them with every page; a page that has the signaling socket open keeps them current with the events it gets
// on that socket (no second socket).

// Shows count on the links of one badge; the link's accessible name says it too (forms from the server).
export function setNavBadge (name, count) {
  for (const link of document.querySelectorAll(`.mainnav [data-badge="${name}"]`)) {
    const badge = link.querySelector('.nav-badge')
    badge.textContent = String(count)
    badge.hidden = !count
    const form = count === 1 ? link.dataset.badgeOne : link.dataset.badgeOther
    if (count && form) link.setAttribute('aria-label', form.replace('%(num)d', String(count)))
    else link.removeAttribute('aria-label')
  }
}

// For pages that are not a phone (the meeting room): follow the missed-calls count on their own socket.
export function followMissedCalls (signaling) {
  const watch = () => signaling.request('call.watch_missed')
    .then((reply) => setNavBadge('missed-calls', reply.missed))
    .catch((error) => console.debug('missed calls not followed', error.code))
  signaling.on('call.missed', (d) => setNavBadge('missed-calls', d.count))
  signaling.on('reconnected', watch) // a new socket is a new session on the hub
  return watch()
}
