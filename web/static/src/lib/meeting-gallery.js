// The gallery: remote participants in pages of 4, 9, 16 or 25 tiles. The main venue comes first, then everyone
// in the order they came; the spotlighted participant is shown large above every page. Only the page on
// screen is received: the page tells the hub whose tiles it shows (media.view).
export const PAGE_SIZES = [4, 9, 16, 25]

// Participant ids of the remote participants, in gallery order (the spotlight is not paged: it is always shown).
export function galleryOrder (participants, { me, spotlight, main }) {
  return [...participants.values()]
    .filter((p) => p.participant_id !== me && p.participant_id !== spotlight)
    .sort((a, b) => ((b.participant_id === main) - (a.participant_id === main)) || (a.joined_at - b.joined_at) ||
      a.participant_id.localeCompare(b.participant_id))
    .map((p) => p.participant_id)
}

// One page of `ids`: the ids on it, the page number (kept within the pages there are) and how many pages.
export function pageOf (ids, size, page) {
  const pages = Math.max(1, Math.ceil(ids.length / size))
  const current = Math.min(Math.max(0, page), pages - 1)
  return { ids: ids.slice(current * size, (current + 1) * size), page: current, pages }
}
