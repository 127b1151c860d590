// The script of every page (base.html): the phone that rings on every page for the signed-in person
// (lib/page-phone.js) and the notifications on its socket (lib/notices.js). The phone page goes without it; a
// meeting page runs both on its own (meeting.js).
import { PagePhone } from './lib/page-phone.js'
import { watchNotices } from './lib/notices.js'

const panel = document.querySelector('[data-test=page-incoming]')
if (panel) {
  const phone = new PagePhone(panel)
  window.cityhubPagePhone = phone
  const ready = phone.start()
  ready.catch((error) => console.debug('no phone on this page:', error.code || error))
  watchNotices(phone.signaling, ready)
}
