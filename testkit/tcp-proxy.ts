import net from 'node:net'

/**
 * A TCP forwarder in front of a real server, for outages that hit one service and not the shared
 * stack: `cut()` resets every open connection and refuses new ones (as a crashed or unreachable
 * server would), `restore()` listens again on the same port.
 */
export interface TcpProxy {
  port: number
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
  /** New connections go to this port from now on (a virtual IP or DNS name moved to another server). */
  retarget(port: number): void
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>()
  let target = targetPort
  const server = net.createServer(client => {
    const upstream = net.connect(target, targetHost)
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(a)
      a.pipe(b)
      a.on('error', () => b.destroy())
      a.on('close', () => {
        open.delete(a)
        b.destroy()
      })
    }
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(0)
  const port = (server.address() as net.AddressInfo).port
  const stop = async () => {
    const closed = new Promise<void>(resolve => server.close(() => resolve()))
    for (const s of open) s.resetAndDestroy()
    await closed
  }
  return {
    port,
    cut: stop,
    restore: () => listen(port),
    close: () => (server.listening ? stop() : Promise.resolve()),
    retarget: p => {
      target = p
    },
  }
}
