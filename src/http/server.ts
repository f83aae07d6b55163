import { STATUS_CODES } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { Metrics } from '../metrics/metrics.ts'
import { startThroughputSampler, type ThroughputSampler } from '../metrics/throughput-sampler.ts'
import { translatePgError } from '../pg/pg-errors.ts'
import { createPool } from '../pg/pool.ts'
import { registerAuth } from './auth.ts'
import { registerCampaignRoutes } from './campaign-routes.ts'
import { loginPage, registerDashboardRoutes } from './dashboard-routes.ts'
import { registerFeedbackRoutes } from './feedback-routes.ts'
import { registerHealthRoutes } from './health-routes.ts'
import { registerMethodNotAllowed } from './method-not-allowed.ts'
import { registerOpenApi } from './openapi.ts'
import { registerStatsRoutes } from './stats-routes.ts'
import { typeboxValidatorCompiler } from './validate.ts'

export interface HttpDeps {
  pool: pg.Pool
  metrics: Metrics
  /** OFFERSTREAM_API_TOKEN; empty: the write API is off and reads are open. */
  apiToken: string
  health(): { ok: boolean; detail: Record<string, unknown> }
  throughput: ThroughputSampler
  /** Milliseconds since the epoch; injectable for tests. */
  now(): number
}

const VERSION = '0.1.0'

/**
 * The HTTP app, not listening yet (tests inject into it).
 * @internal also used by tests
 */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  // A body's `__proto__` or `constructor.prototype` key is dropped, not refused with a 400 that calls
  // the body invalid JSON: the schemas allow extra properties and the rest of the body is good
  // (schemathesis sent one to POST .../cancel). Dropped, they cannot reach any object's prototype.
  const app = Fastify({ logger: false, onProtoPoisoning: 'remove', onConstructorPoisoning: 'remove' })
  app.setValidatorCompiler(typeboxValidatorCompiler)
  registerOpenApi(app, VERSION)
  registerMethodNotAllowed(app)
  registerAuth(app, deps.apiToken, loginPage)
  registerHealthRoutes(app, deps)
  registerDashboardRoutes(app, deps)
  registerFeedbackRoutes(app, deps)
  registerStatsRoutes(app, deps)
  registerCampaignRoutes(app, deps)
  // Driver errors become 503 (retry later) or 500 here, once; 4xx from fastify (validation, body
  // parsing, size) keep their status and message.
  app.setErrorHandler((error: { statusCode?: number; message: string }, _req, reply) => {
    if (error.statusCode && error.statusCode < 500) {
      return reply
        .code(error.statusCode)
        .send({ statusCode: error.statusCode, error: STATUS_CODES[error.statusCode], message: error.message })
    }
    const translated = translatePgError(error)
    if (translated.retryable) {
      return reply.code(503).header('retry-after', '1').send({ statusCode: 503, error: 'Service Unavailable', message: translated.message })
    }
    // The database's own message may quote data; the client gets only the code.
    return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message: `internal error (${translated.code})` })
  })
  return app
}

/** Serves the API, the dashboard, /healthz and /metrics; samples the push counters for the dashboard chart. */
export async function startHttp(host: string, port: number, deps: Omit<HttpDeps, 'throughput' | 'now' | 'pool'> & { databaseUrl: string }) {
  // Its own connections: a burst of API or dashboard reads never waits for, or delays, the writer's
  // and relay's transactions on the service pool.
  const pool = createPool(deps.databaseUrl, 4)
  // 120 one-second samples: the chart shows the last two minutes.
  const throughput = startThroughputSampler(deps.metrics, { intervalMs: 1000, capacity: 121 })
  const app = buildHttp({ ...deps, pool, throughput, now: Date.now })
  app.addHook('onClose', async () => {
    throughput.stop()
    await pool.end().catch(() => {})
  })
  try {
    await app.listen({ host, port })
  } catch (error) {
    await app.close()
    throw error
  }
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return { port: bound, close: () => app.close() }
}
