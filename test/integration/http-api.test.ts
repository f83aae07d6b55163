import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Compile } from 'typebox/compile'
import { FeedbackSchema } from '../../src/core/feedback.ts'
import { CampaignStatsSchema, FeedbackBodySchema, IdParams, RestaurantCampaignsSchema } from '../../src/http/schemas.ts'
import { buildHttp } from '../../src/http/server.ts'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually, runService } from '../../testkit/service.ts'

const TOKEN = 'test-token-9f3a'
const now = Math.floor(Date.now() / 1000)
const restaurant = randomUUID()
const campaign = randomUUID()
const clients = [randomUUID(), randomUUID(), randomUUID()]
const stranger = randomUUID()

let fx: Fixture
let service: Service
let base: string

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
const post = (body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${base}/v1/feedback`, { method: 'POST', headers, body: JSON.stringify(body) })
const get = (path: string, headers: Record<string, string> = auth) => fetch(`${base}${path}`, { headers })
const fb = (client: string, feedback: string, extra: Record<string, unknown> = {}) => ({
  adv_campaign_id: campaign,
  client_id: client,
  feedback,
  datetime_created: now,
  ...extra,
})

before(async () => {
  fx = await createFixture({ OFFERSTREAM_HTTP_ENABLED: 'true', OFFERSTREAM_HTTP_PORT: '0', OFFERSTREAM_API_TOKEN: TOKEN })
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  service = await runService(fx.config)
  base = `http://127.0.0.1:${service.httpPort}`
  await fx.produce([
    JSON.stringify({
      restaurant_id: restaurant,
      adv_campaign_id: campaign,
      adv_campaign_content: 'api test campaign',
      adv_campaign_datetime_start: now - 60,
      adv_campaign_datetime_end: now + 3600,
    }),
  ])
  const pushed = await eventually(async () => {
    const { rows } = await fx.pool.query('select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1', [campaign])
    return rows[0].n === clients.length
  })
  assert.ok(pushed, 'the campaign was pushed to every subscriber')
})
after(async () => {
  await service?.stop()
  await fx?.cleanup()
})

test('the write API needs the bearer token: missing or wrong is 401', async () => {
  const missing = await post(fb(clients[0] as string, 'opened'), { 'content-type': 'application/json' })
  assert.equal(missing.status, 401)
  assert.match(missing.headers.get('www-authenticate') ?? '', /Bearer/)
  const wrong = await post(fb(clients[0] as string, 'opened'), { ...auth, authorization: 'Bearer nope' })
  assert.equal(wrong.status, 401)
  assert.match((await wrong.json()).message, /missing or wrong token/)
  const readWithoutToken = await get(`/v1/campaigns/${campaign}/stats`, {})
  assert.equal(readWithoutToken.status, 401)
})

test('single feedback: 201 recorded, 200 duplicate on retry, 422 for a push never sent, 400 naming the bad field', async () => {
  const first = await post(fb(clients[0] as string, 'opened', { rating: 5, comment: 'nice' }))
  assert.equal(first.status, 201)
  assert.deepEqual(await first.json(), { outcome: 'recorded' })
  const again = await post(fb(clients[0] as string, 'opened', { rating: 5, comment: 'nice' }))
  assert.equal(again.status, 200)
  assert.equal((await again.json()).outcome, 'duplicate')
  const unknown = await post(fb(stranger, 'opened'))
  assert.equal(unknown.status, 422)
  assert.match((await unknown.json()).reason, new RegExp(`no push of campaign ${campaign} to client ${stranger}`))
  const bad = await post(fb(clients[0] as string, 'loved'))
  assert.equal(bad.status, 400)
  assert.match((await bad.json()).message, /\/feedback/)
  const badRating = await post(fb(clients[0] as string, 'clicked', { rating: 9 }))
  assert.equal(badRating.status, 400)
  assert.match((await badRating.json()).message, /\/rating/)
  const notJson = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: auth, body: '{"adv_campaign_id":' })
  assert.equal(notJson.status, 400)
  const { rows } = await fx.pool.query('select feedback from subscribers_feedback where adv_campaign_id = $1 and client_id = $2', [
    campaign,
    clients[0],
  ])
  assert.equal(rows[0].feedback, 'opened')
})

test('batch: one outcome per item, invalid items answered and the valid ones around them recorded', async () => {
  const res = await post({
    items: [
      fb(clients[1] as string, 'clicked'),
      { ...fb(clients[1] as string, 'opened'), client_id: 'not-a-uuid' },
      fb(clients[2] as string, 'dismissed'),
      fb(stranger, 'opened'),
    ],
  })
  assert.equal(res.status, 200)
  const { results } = await res.json()
  assert.deepEqual(
    results.map((r: { outcome: string }) => r.outcome),
    ['recorded', 'invalid', 'recorded', 'unknown_push'],
  )
  assert.match(results[1].reason, /^\/items\/1: \/client_id/)
  const retry = await post({ items: [fb(clients[1] as string, 'clicked')] })
  assert.deepEqual((await retry.json()).results, [{ outcome: 'duplicate', reason: 'this feedback was recorded before' }])
  const tooMany = await post({ items: Array.from({ length: 1001 }, () => fb(clients[1] as string, 'delivered')) })
  assert.equal(tooMany.status, 400)
  assert.match((await tooMany.json()).message, /\/items must be an array of 1 to 1000/)
})

test('campaign stats: the funnel counts each client once per kind; 404 unknown, 400 not a UUID', async () => {
  const res = await get(`/v1/campaigns/${campaign}/stats`)
  assert.equal(res.status, 200)
  const stats = await res.json()
  assert.ok(Compile(CampaignStatsSchema).Check(stats), 'the response matches the documented schema')
  assert.equal(stats.pushed, 3)
  assert.deepEqual(stats.feedback, { delivered: 0, opened: 1, clicked: 1, redeemed: 0, dismissed: 1 })
  assert.equal(stats.responded, 3)
  assert.equal((await get(`/v1/campaigns/${randomUUID()}/stats`)).status, 404)
  const notUuid = await get('/v1/campaigns/123/stats')
  assert.equal(notUuid.status, 400)
  assert.match((await notUuid.json()).message, /params\/id/)
})

test('campaign stats of a campaign only cancelled (never received): 200, cancelled, nothing pushed; the documented schema', async () => {
  const unseen = randomUUID()
  const cancel = await fetch(`${base}/v1/campaigns/${unseen}/cancel`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ restaurant_id: restaurant }),
  })
  assert.equal(cancel.status, 200)
  const { cancelledAt } = await cancel.json()
  const res = await get(`/v1/campaigns/${unseen}/stats`)
  assert.equal(res.status, 200)
  const stats = await res.json()
  assert.ok(Compile(CampaignStatsSchema).Check(stats), 'the response matches the documented schema')
  assert.deepEqual(
    (({ campaignId, restaurantId, status, cancelledAt, versions, version, content, start, end, pushed, suppressed, responded }) => ({
      campaignId,
      restaurantId,
      status,
      cancelledAt,
      versions,
      version,
      content,
      start,
      end,
      pushed,
      suppressed,
      responded,
    }))(stats),
    {
      campaignId: unseen,
      restaurantId: restaurant,
      status: 'cancelled',
      cancelledAt,
      versions: 0,
      version: null,
      content: null,
      start: null,
      end: null,
      pushed: 0,
      suppressed: 0,
      responded: 0,
    },
  )
  assert.equal((await get(`/v1/campaigns/${randomUUID()}/stats`)).status, 404, 'an id neither received nor cancelled is still unknown')
})

test('a body with a __proto__ key: the key is dropped, the rest of the request is served (no 400 calling it invalid JSON)', async () => {
  const id = randomUUID()
  const res = await fetch(`${base}/v1/campaigns/${id}/cancel`, {
    method: 'POST',
    headers: auth,
    body: `{"__proto__": {"polluted": true}, "restaurant_id": "${restaurant}"}`,
  })
  assert.equal(res.status, 200, await res.clone().text())
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.equal((await get(`/v1/campaigns/${id}/stats`)).status, 200)
})

test("restaurant campaigns within 'since'; a bad since is a 400 naming it", async () => {
  const res = await get(`/v1/restaurants/${restaurant}/campaigns?since=2w`)
  assert.equal(res.status, 200)
  const body = await res.json()
  assert.ok(Compile(RestaurantCampaignsSchema).Check(body))
  assert.deepEqual(
    body.campaigns.map((c: { campaignId: string }) => c.campaignId),
    [campaign],
  )
  const none = await (await get(`/v1/restaurants/${randomUUID()}/campaigns`)).json()
  assert.deepEqual(none, { campaigns: [] })
  const bad = await get(`/v1/restaurants/${restaurant}/campaigns?since=a-week`)
  assert.equal(bad.status, 400)
  assert.match((await bad.json()).message, /querystring\/since/)
})

test('the dashboard session cookie opens reads but never the write API; /healthz and /metrics stay open', async () => {
  const wrong = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'token=nope',
    redirect: 'manual',
  })
  assert.equal(wrong.status, 401)
  assert.match(await wrong.text(), /wrong token/)
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${TOKEN}`,
    redirect: 'manual',
  })
  assert.equal(login.status, 303)
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
  assert.doesNotMatch(cookie, new RegExp(TOKEN), 'the cookie does not carry the token itself')
  assert.equal((await get('/v1/dashboard', { cookie })).status, 200)
  assert.equal((await get('/', { cookie })).status, 200)
  assert.equal((await get('/', {})).status, 401)
  assert.equal((await post(fb(clients[2] as string, 'opened'), { cookie, 'content-type': 'application/json' })).status, 401)
  assert.equal((await get('/healthz', {})).status, 200)
  assert.equal((await get('/metrics', {})).status, 200)
})

test('/openapi.json documents every route, with the very schemas the requests are validated with', async () => {
  const doc = await (await get('/openapi.json', {})).json()
  assert.equal(doc.openapi, '3.1.0')
  const json = (x: unknown) => JSON.parse(JSON.stringify(x))
  const feedbackBody = doc.paths['/v1/feedback'].post.requestBody.content['application/json'].schema
  assert.deepEqual(feedbackBody, json(FeedbackBodySchema))
  assert.deepEqual(feedbackBody.anyOf[0], json(FeedbackSchema))
  assert.deepEqual(doc.paths['/v1/campaigns/{id}/stats'].get.parameters[0].schema, json(IdParams.properties.id))
  assert.deepEqual(doc.paths['/v1/feedback'].post.security, [{ bearer: [] }])
  assert.deepEqual(doc.paths['/healthz'].get.security, [])
  // Every documented operation exists, and (openapi.ts refuses undocumented routes) every route is documented.
  const app = buildHttp({
    pool: fx.pool,
    metrics: service.metrics,
    apiToken: '',
    health: () => ({ ok: true, detail: {} }),
    throughput: { points: () => [], stop: () => {} },
    now: Date.now,
  })
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops as object).map(m => [m.toUpperCase(), path.replace(/\{(\w+)\}/g, ':$1')]),
  )
  assert.ok(operations.length >= 11)
  for (const [method, url] of operations) assert.ok(app.hasRoute({ method: method as 'GET', url: url as string }), `${method} ${url}`)
  assert.throws(() => app.get('/undocumented', async () => 'x'), /has no config.doc/)
  await app.close()
})

test('no token configured: the write API answers 403 saying it is off, reads are open', async () => {
  const app = buildHttp({
    pool: fx.pool,
    metrics: service.metrics,
    apiToken: '',
    health: () => ({ ok: true, detail: {} }),
    throughput: { points: () => [], stop: () => {} },
    now: Date.now,
  })
  const write = await app.inject({ method: 'POST', url: '/v1/feedback', payload: fb(clients[2] as string, 'opened') })
  assert.equal(write.statusCode, 403)
  assert.match(write.json().message, /write API is off.*OFFERSTREAM_API_TOKEN/)
  const read = await app.inject({ method: 'GET', url: `/v1/campaigns/${campaign}/stats` })
  assert.equal(read.statusCode, 200)
  await app.close()
})
