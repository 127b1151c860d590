// The script of every page (base.html): the phone that rings on every page for the signed-in person
// (lib/page-phone.js). The phone page goes without it; a meeting page runs it on its own (meeting.js).
import { PagePhone } from './lib/page-phone.js'

const panel = document.querySelector('[data-test=page-incoming]')
if (panel) {
  const phone = new PagePhone(panel)
  window.cityhubPagePhone = phone
  phone.start().catch((error) => console.debug('no phone on this page:', error.code || error))
}
