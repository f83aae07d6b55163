import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { HttpDeps } from './server.ts'

// What app.ts's health() returns: each value is 'ok' or the error the loop is retrying now.
const HealthSchema = Type.Object({
  ok: Type.Boolean(),
  detail: Type.Object({
    ingest: Type.String({ description: "'ok', or the error the input consumer is retrying" }),
    shards: Type.String({ description: "'ok', or the errors the owned shards' writers and relays are retrying, naming shard and loop" }),
    feedback: Type.String({ description: "'ok', or the error the feedback intake is retrying" }),
  }),
})

/** /healthz (200, or 503 with the failing loop's error) and /metrics (Prometheus text); both open. */
export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps) {
  app.get(
    '/healthz',
    {
      config: {
        doc: {
          summary: 'Health of the ingest, the feedback intake and every owned shard’s writer and relay',
          description:
            'Unhealthy while any of these loops is retrying a failure (Kafka or PostgreSQL unavailable); the loops keep retrying, so it turns healthy again by itself.',
          responses: {
            200: { description: 'no loop is retrying a failure: ok true, every detail "ok"', schema: HealthSchema },
            503: {
              description: 'a loop is retrying a failure: ok false, its detail holds the error code and message',
              schema: HealthSchema,
            },
          },
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
