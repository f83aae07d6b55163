import Fastify from 'fastify'
import type { Registry } from 'prom-client'

export interface HealthSource {
  health(): { ok: boolean; detail: Record<string, unknown> }
}

/** /healthz (200 or 503 with the reason) and /metrics (Prometheus text). */
export async function startHttp(host: string, port: number, registry: Registry, health: HealthSource) {
  const app = Fastify({ logger: false })
  app.get('/healthz', async (_req, reply) => {
    const h = health.health()
    return reply.code(h.ok ? 200 : 503).send(h)
  })
  app.get('/metrics', async (_req, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
  await app.listen({ host, port })
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return { port: bound, close: () => app.close() }
}
