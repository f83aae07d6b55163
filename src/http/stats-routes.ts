import type { FastifyInstance } from 'fastify'
import { parseDuration } from '../core/duration.ts'
import { campaignStats } from '../pg/sql/campaign-stats.ts'
import { cancelOnlyStats } from '../pg/sql/cancel-only-stats.ts'
import { restaurantCampaigns } from '../pg/sql/restaurant-campaigns.ts'
import { CampaignStatsSchema, ErrorSchema, IdParams, RestaurantCampaignsSchema, SinceQuery } from './schemas.ts'
import type { HttpDeps } from './server.ts'

const DEFAULT_SINCE = '7d'

/** Per-campaign and per-restaurant reach and response (the feedback funnel). */
export function registerStatsRoutes(app: FastifyInstance, deps: HttpDeps) {
  app.get(
    '/v1/campaigns/:id/stats',
    {
      schema: { params: IdParams },
      config: {
        auth: 'read',
        doc: {
          summary: "A campaign's pushes and feedback funnel",
          description:
            'A campaign of which only a cancel was received (it never fans out) answers 200 with status cancelled, versions 0, ' +
            'pushed 0 and null content, start, end and version.',
          responses: {
            200: { description: 'statistics', schema: CampaignStatsSchema },
            400: { description: 'the id is not a UUID', schema: ErrorSchema },
            404: { description: 'no record and no cancel of such a campaign was ever received', schema: ErrorSchema },
          },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string }
      const stats = (await campaignStats(deps.pool, id.toLowerCase())) ?? (await cancelOnlyStats(deps.pool, id.toLowerCase()))
      if (!stats) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no campaign ${id}` })
      return stats
    },
  )
  app.get(
    '/v1/restaurants/:id/campaigns',
    {
      schema: { params: IdParams, querystring: SinceQuery },
      config: {
        auth: 'read',
        doc: {
          summary: "A restaurant's campaigns that ran within the period, newest first, with their statistics",
          responses: {
            200: { description: 'statistics per campaign (empty when none)', schema: RestaurantCampaignsSchema },
            400: { description: 'bad id or since', schema: ErrorSchema },
          },
        },
      },
    },
    async req => {
      const { id } = req.params as { id: string }
      const { since = DEFAULT_SINCE } = req.query as { since?: string }
      const sinceSeconds = Math.floor(deps.now() / 1000) - (parseDuration(since) ?? 0)
      return { campaigns: await restaurantCampaigns(deps.pool, { restaurantId: id.toLowerCase(), sinceSeconds }) }
    },
  )
}
