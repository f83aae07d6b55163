// One status line on stderr while something long runs: rewritten in place on a terminal, a plain
// line every few seconds otherwise (CI logs).

export interface Progress {
  set(text: string): void
  done(text?: string): void
}

export function createProgress(label: string): Progress {
  const tty = process.stderr.isTTY === true
  const t0 = Date.now()
  let last = 0
  let text = ''
  const show = (force: boolean) => {
    const now = Date.now()
    if (!force && now - last < (tty ? 250 : 5000)) return
    last = now
    const line = `[${label} ${((now - t0) / 1000).toFixed(1)}s] ${text}`
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`)
  }
  const timer = setInterval(() => show(false), tty ? 500 : 5000)
  timer.unref()
  return {
    set(t) {
      text = t
      show(false)
    },
    done(t) {
      clearInterval(timer)
      if (t !== undefined) text = t
      show(true)
      if (tty) process.stderr.write('\n')
    },
  }
}
