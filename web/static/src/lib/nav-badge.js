// Counts on the main navigation's links (base.html), e.g. missed calls on the Phone link. The server renders
// them with every page; every page keeps them current with the events of its signaling socket (the phone page's,
// or the one lib/page-phone.js holds: no second socket).

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
