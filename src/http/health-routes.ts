import type { FastifyInstance } from 'fastify'
import type { HttpDeps } from './server.ts'

/** /healthz (200, or 503 with the failing loop's error) and /metrics (Prometheus text); both open. */
export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps) {
  app.get(
    '/healthz',
    {
      config: {
        doc: {
          summary: 'Health of the writer and relay loops',
          responses: { 200: { description: 'both loops healthy' }, 503: { description: 'a dependency is failing; detail says which' } },
        },
      },
    },
    async (_req, reply) => {
      const h = deps.health()
      return reply.code(h.ok ? 200 : 503).send(h)
    },
  )
  app.get(
    '/metrics',
    { config: { doc: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } } },
    async (_req, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  )
}
