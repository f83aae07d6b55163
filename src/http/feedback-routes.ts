import type { FastifyInstance } from 'fastify'
import { decodeFeedback, type Feedback } from '../core/feedback.ts'
import { type FeedbackResult, recordFeedback } from '../pg/sql/record-feedback.ts'
import { ErrorSchema, FeedbackBatchResultSchema, FeedbackBodySchema, FeedbackResultSchema, MAX_FEEDBACK_BATCH } from './schemas.ts'
import type { HttpDeps } from './server.ts'

type ItemResult = FeedbackResult | { outcome: 'invalid'; reason: string }

const badRequest = (message: string) => ({ statusCode: 400, error: 'Bad Request', message })

// A full batch of items with 1000-character comments is ~1.3 MB; fastify's default limit is 1 MiB.
const BODY_LIMIT = 4 * 1024 * 1024

/** POST /v1/feedback: one feedback, or {"items": [...]} with up to 1000; idempotent, so retrying is safe. */
export function registerFeedbackRoutes(app: FastifyInstance, deps: HttpDeps) {
  app.post(
    '/v1/feedback',
    {
      bodyLimit: BODY_LIMIT,
      config: {
        auth: 'write',
        doc: {
          summary: 'Report what users did with their pushes',
          description:
            'One feedback object, or {"items": [...]} with up to 1000. The same event sent again (retry, or also sent through Kafka) is a duplicate, counted once.',
          body: FeedbackBodySchema,
          responses: {
            200: { description: 'batch: one outcome per item; single: duplicate or outside_window', schema: FeedbackBatchResultSchema },
            201: { description: 'single: recorded', schema: FeedbackResultSchema },
            400: { description: 'invalid body; the message names the field', schema: ErrorSchema },
            401: { description: 'missing or wrong token', schema: ErrorSchema },
            403: { description: 'the write API is off (no token configured)', schema: ErrorSchema },
            422: { description: 'single: no push of that campaign to that client', schema: FeedbackResultSchema },
          },
        },
      },
    },
    async (req, reply) => {
      const body = req.body
      if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'items' in body) {
        const items = body.items
        if (!Array.isArray(items) || items.length === 0 || items.length > MAX_FEEDBACK_BATCH) {
          return reply.code(400).send(badRequest(`/items must be an array of 1 to ${MAX_FEEDBACK_BATCH} feedback objects`))
        }
        const results = await recordBatch(deps, items)
        for (const r of results) deps.metrics.feedback.inc({ source: 'http', outcome: r.outcome })
        return { results }
      }
      const decoded = decodeFeedback(body ?? null)
      if (!decoded.ok) {
        deps.metrics.feedback.inc({ source: 'http', outcome: 'invalid' })
        return reply.code(400).send(badRequest(decoded.rejection.reason))
      }
      const [result] = await recordFeedback(deps.pool, [decoded.feedback], 'http')
      if (result) deps.metrics.feedback.inc({ source: 'http', outcome: result.outcome })
      const code = result?.outcome === 'recorded' ? 201 : result?.outcome === 'unknown_push' ? 422 : 200
      return reply.code(code).send(result)
    },
  )
}

/** Invalid items are answered as such; the valid ones around them are recorded in one statement. */
async function recordBatch(deps: HttpDeps, items: unknown[]): Promise<ItemResult[]> {
  const results: ItemResult[] = []
  const valid: Feedback[] = []
  const validAt: number[] = []
  items.forEach((item, i) => {
    const decoded = decodeFeedback(item ?? null)
    if (decoded.ok) {
      valid.push(decoded.feedback)
      validAt.push(i)
    } else {
      results[i] = { outcome: 'invalid', reason: `/items/${i}: ${decoded.rejection.reason}` }
    }
  })
  const recorded = await recordFeedback(deps.pool, valid, 'http')
  recorded.forEach((r, j) => {
    results[validAt[j] as number] = r
  })
  return results
}
