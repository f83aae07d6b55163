import type { FastifyInstance } from 'fastify'
import { cancelCampaign } from '../pg/sql/cancel-campaign.ts'
import { CancelBodySchema, CancelResultSchema, ErrorSchema, IdParams } from './schemas.ts'
import type { HttpDeps } from './server.ts'

/** POST /v1/campaigns/:id/cancel: the HTTP door of a cancel (the Kafka one is adv_campaign_status "cancelled"). */
export function registerCampaignRoutes(app: FastifyInstance, deps: HttpDeps) {
  app.post(
    '/v1/campaigns/:id/cancel',
    {
      schema: { params: IdParams, body: CancelBodySchema },
      config: {
        auth: 'write',
        doc: {
          summary: 'Cancel a campaign: no push of it is committed after the answer',
          description:
            'Waits for the fan-out chunk in flight, if any, to commit, then answers what was pushed before the cancel and how many subscribers will not be. ' +
            'A campaign not received yet is cancelled too: when it arrives it never fans out, and re-sending it does not revive it. Idempotent.',
          body: CancelBodySchema,
          responses: {
            200: { description: 'cancelled now, or already cancelled', schema: CancelResultSchema },
            400: { description: 'bad id or body; the message names the field', schema: ErrorSchema },
            401: { description: 'missing or wrong token', schema: ErrorSchema },
            403: { description: 'the write API is off (no token configured)', schema: ErrorSchema },
            409: { description: 'the campaign belongs to another restaurant; nothing changed', schema: ErrorSchema },
          },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const { restaurant_id } = req.body as { restaurant_id: string }
      const result = await cancelCampaign(deps.pool, id.toLowerCase(), restaurant_id.toLowerCase())
      deps.metrics.cancels.inc({ source: 'http', outcome: result.outcome === 'restaurant_mismatch' ? result.outcome : 'applied' })
      if (result.outcome === 'restaurant_mismatch') {
        return reply.code(409).send({
          statusCode: 409,
          error: 'Conflict',
          message: `campaign ${result.campaignId} belongs to another restaurant than ${restaurant_id}; not cancelled`,
        })
      }
      return result
    },
  )
}
