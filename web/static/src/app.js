// The script of every page (base.html): the phone that rings on every page for the signed-in person
// (lib/page-phone.js), the notifications on its socket (lib/notices.js) and the searchable pickers of its forms
// (lib/picker.js). The phone page goes without it; a meeting page runs them on its own (meeting.js).
import { PagePhone } from './lib/page-phone.js'
import { watchNotices } from './lib/notices.js'
import { enhancePickers } from './lib/picker.js'

enhancePickers()

const panel = document.querySelector('[data-test=page-incoming]')
if (panel) {
  const phone = new PagePhone(panel)
  window.cityhubPagePhone = phone
  const ready = phone.start()
  ready.catch((error) => console.debug('no phone on this page:', error.code || error))
  watchNotices(phone.signaling, ready)
}
