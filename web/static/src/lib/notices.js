// Notifications on every page (docs/notifications.md): on the page's one /ws, the signed-in person's new
// notifications pop up for a few seconds (and as a browser notification while the tab is hidden), and the
// unread badge in the navigation follows, also when they are read on another page.

import { setNavBadge } from './nav-badge.js'

const SHOWN_MS = 10000
const MAX_SHOWN = 3

function strings () {
  const element = document.getElementById('notice-strings')
  try {
    return element ? JSON.parse(element.textContent) : { labels: {} }
  } catch (error) {
    return { labels: {} }
  }
}

export class Notices {
  // signaling: a started Signaling (lib/signaling.js); box: the [data-test=notices] region (notices.html).
  constructor (signaling, box = document.querySelector('[data-test=notices]')) {
    this.signaling = signaling
    this.box = box
    this.strings = strings()
    this.unread = 0
  }

  async start () {
    this.signaling.on('notification', (d) => this.arrived(d.notification))
    this.signaling.on('notifications.unread', (d) => this.setUnread(d.count))
    this.signaling.on('reconnected', () => this.watch())
    await this.watch()
  }

  async watch () {
    try {
      const reply = await this.signaling.request('notifications.watch', {})
      this.setUnread(reply.unread)
    } catch (error) {
      console.debug('no notifications on this socket:', error.code || error)
    }
  }

  setUnread (count) {
    this.unread = count
    setNavBadge('notifications', count)
  }

  label (notification) {
    return this.strings.labels[`${notification.subject}.${notification.kind}`] || notification.kind
  }

  arrived (notification) {
    this.setUnread(this.unread + 1)
    if (this.box) this.show(notification)
    if (document.hidden) this.notifyHidden(notification)
    window.dispatchEvent(new CustomEvent('cityhub:notification', { detail: notification }))
  }

  show (notification) {
    const item = document.createElement('div')
    item.className = 'notice-pop'
    item.dataset.test = 'notice-pop'
    item.dataset.kind = `${notification.subject}.${notification.kind}`
    const label = document.createElement('span')
    label.className = 'notice-label'
    label.textContent = this.label(notification)
    const link = document.createElement('a')
    link.className = 'notice-title'
    link.href = `/notifications/${notification.id}`
    link.textContent = notification.title
    const close = document.createElement('button')
    close.type = 'button'
    close.className = 'notice-close'
    close.setAttribute('aria-label', this.strings.Close || 'Close')
    close.textContent = '×'
    close.addEventListener('click', () => item.remove())
    item.append(label, link, close)
    this.box.prepend(item)
    while (this.box.children.length > MAX_SHOWN) this.box.lastElementChild.remove()
    setTimeout(() => item.remove(), SHOWN_MS)
  }

  notifyHidden (notification) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return
    try {
      const shown = new Notification(this.label(notification), { body: notification.title, tag: `notice-${notification.id}` })
      shown.onclick = () => { window.focus(); window.location.href = `/notifications/${notification.id}`; shown.close() }
    } catch (error) {
      console.debug('no browser notification:', error)
    }
  }
}

// Starts notices on a page's signaling once it is up; never throws (a page without them still works).
export function watchNotices (signaling, ready) {
  const notices = new Notices(signaling)
  window.cityhubNotices = notices
  return Promise.resolve(ready).then(() => notices.start()).catch((error) => console.debug('no notices:', error))
}
