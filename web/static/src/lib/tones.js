// Tones made in the browser with WebAudio (no sound files): the ringer for incoming calls, the ringback a caller
// hears while it rings, the busy signal (document.body.dataset.tone names the one playing), and the chimes that
// say a meeting's recording started or stopped.

const PATTERNS = {
  // ring-ring: two short bursts of a two-note chime, every 3 s
  ring: { period: 3000, bursts: [[0, 400], [600, 400]], freqs: [659, 880], gain: 0.25 },
  // ringback (Chinese exchanges): 450 Hz, 1 s on, 4 s off
  ringback: { period: 5000, bursts: [[0, 1000]], freqs: [450], gain: 0.12 },
  // busy: 450 Hz, 0.35 s on, 0.35 s off
  busy: { period: 700, bursts: [[0, 350]], freqs: [450], gain: 0.15 },
  // the meeting is being recorded (a rising chime, once), and no longer (falling)
  recording: { bursts: [[0, 600]], freqs: [523, 659, 784], gain: 0.15 },
  notRecording: { bursts: [[0, 600]], freqs: [784, 659, 523], gain: 0.15 }
}

export class Tones {
  constructor () {
    this.ctx = null
    this.timer = null
    this.current = ''
    this.nodes = new Set()
  }

  // The AudioContext, created on first use; browsers keep it suspended until the page was clicked once.
  context () {
    if (!this.ctx) {
      const Ctx = window.AudioContext || window.webkitAudioContext
      if (!Ctx) return null
      this.ctx = new Ctx()
    }
    return this.ctx
  }

  // Whether tones can be heard now (false until the page got a click, in most browsers).
  get audible () {
    const ctx = this.context()
    return Boolean(ctx && ctx.state === 'running')
  }

  async unlock () {
    const ctx = this.context()
    if (ctx && ctx.state !== 'running') {
      try { await ctx.resume() } catch { /* stays silent; the page shows a hint */ }
    }
    return this.audible
  }

  play (name, { forMs = 0 } = {}) {
    this.stop()
    const pattern = PATTERNS[name]
    const ctx = this.context()
    this.current = name
    document.body.dataset.tone = name
    if (!pattern || !ctx) return
    if (ctx.state !== 'running') ctx.resume().catch(() => {})
    const cycle = () => {
      const start = ctx.currentTime + 0.02
      for (const [at, length] of pattern.bursts) this._burst(ctx, pattern, start + at / 1000, length / 1000)
    }
    cycle()
    this.timer = setInterval(cycle, pattern.period)
    if (forMs) this.stopTimer = setTimeout(() => this.stop(), forMs)
  }

  // A pattern's bursts once, beside whatever else plays: a notice, not a state of the page (no dataset.tone).
  chime (name) {
    const pattern = PATTERNS[name]
    const ctx = this.context()
    if (!pattern || !ctx) return
    if (ctx.state !== 'running') ctx.resume().catch(() => {})
    const start = ctx.currentTime + 0.02
    for (const [at, length] of pattern.bursts) this._burst(ctx, pattern, start + at / 1000, length / 1000)
  }

  _burst (ctx, pattern, start, length) {
    const gain = ctx.createGain()
    gain.gain.setValueAtTime(0, start)
    gain.gain.linearRampToValueAtTime(pattern.gain, start + 0.02)
    gain.gain.setValueAtTime(pattern.gain, start + length - 0.03)
    gain.gain.linearRampToValueAtTime(0, start + length)
    gain.connect(ctx.destination)
    const step = length / pattern.freqs.length
    pattern.freqs.forEach((freq, i) => {
      const osc = ctx.createOscillator()
      osc.type = 'sine'
      osc.frequency.value = freq
      osc.connect(gain)
      // a chime plays its notes one after the other; a single tone lasts the whole burst
      const from = pattern.freqs.length > 1 ? start + i * step : start
      const until = pattern.freqs.length > 1 ? from + step : start + length
      osc.start(from)
      osc.stop(until)
      this.nodes.add(osc)
      osc.onended = () => { this.nodes.delete(osc); osc.disconnect() }
    })
  }

  stop () {
    clearInterval(this.timer)
    clearTimeout(this.stopTimer)
    this.timer = null
    for (const osc of this.nodes) { try { osc.stop() } catch { /* already stopped */ } }
    this.nodes.clear()
    this.current = ''
    document.body.dataset.tone = ''
  }
}
