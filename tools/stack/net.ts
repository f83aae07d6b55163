import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export const HOST = '127.0.0.1'

/** A port the OS just handed out; tiny race until the service binds it, acceptable locally. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** True when something accepts TCP connections on the port. */
export function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: HOST, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Free for us to bind: used to keep a preferred port or fall back to a random one. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = net.createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

/** The first free one of the preferred ports, else any free port. */
export async function pickPort(...preferred: (number | undefined)[]): Promise<number> {
  for (const port of preferred) if (port !== undefined && (await portIsFree(port))) return port
  return freePort()
}

/**
 * Polls `probe` until it returns true. `abort` lets a caller fail fast with the
 * real reason (e.g. the process died) instead of waiting for the deadline.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; abort?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    const reason = opts.abort?.()
    if (reason) throw new Error(`${what}: ${reason}`)
    if (await probe().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs} ms`)
    await sleep(opts.intervalMs ?? 100)
  }
}
