import Fastify, { type FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { Metrics } from '../service/metrics.ts'
import { startThroughputSampler, type ThroughputSampler } from '../service/throughput-sampler.ts'
import { registerAuth } from './auth.ts'
import { loginPage, registerDashboardRoutes } from './dashboard-routes.ts'
import { registerHealthRoutes } from './health-routes.ts'
import { registerOpenApi } from './openapi.ts'
import { typeboxValidatorCompiler } from './validate.ts'

export interface HttpDeps {
  pool: pg.Pool
  metrics: Metrics
  /** OFFERSTREAM_API_TOKEN; empty: the write API is off and reads are open. */
  apiToken: string
  health(): { ok: boolean; detail: Record<string, unknown> }
  throughput: ThroughputSampler
}

const VERSION = '0.1.0'

/** The HTTP app, not listening yet (tests inject into it). */
export function buildHttp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  app.setValidatorCompiler(typeboxValidatorCompiler)
  registerOpenApi(app, VERSION)
  registerAuth(app, deps.apiToken, loginPage)
  registerHealthRoutes(app, deps)
  registerDashboardRoutes(app, deps)
  return app
}

/** Serves the API, the dashboard, /healthz and /metrics; samples the push counters for the dashboard chart. */
export async function startHttp(host: string, port: number, deps: Omit<HttpDeps, 'throughput'>) {
  // 120 one-second samples: the chart shows the last two minutes.
  const throughput = startThroughputSampler(deps.metrics, { intervalMs: 1000, capacity: 121 })
  const app = buildHttp({ ...deps, throughput })
  app.addHook('onClose', async () => throughput.stop())
  await app.listen({ host, port })
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return { port: bound, close: () => app.close() }
}
