import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually, runService } from '../../testkit/service.ts'

// The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against the real
// service on Kafka and PostgreSQL: what an operator sees, asserted on the DOM.

const CHROMIUM = '/usr/bin/chromium'
const TOKEN = 'dashboard-token-51c2'
const now = Math.floor(Date.now() / 1000)
const restaurant = randomUUID()
const later = randomUUID()
const campaign = randomUUID()
const pending = randomUUID()
const clients = Array.from({ length: 3000 }, () => randomUUID())

let fx: Fixture
let service: Service
let browser: Browser
let page: Page
let base: string

const event = (id: string, restaurantId: string, content: string, start: number) =>
  JSON.stringify({
    restaurant_id: restaurantId,
    adv_campaign_id: id,
    adv_campaign_content: content,
    adv_campaign_datetime_start: start,
    adv_campaign_datetime_end: start + 7200,
  })

const text = (selector: string) => page.evaluate(s => document.querySelector(s)?.textContent ?? null, selector)
const until = async (what: string, fn: () => Promise<boolean>) => assert.ok(await eventually(fn, 30000), what)

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`)
  fx = await createFixture({ OFFERSTREAM_HTTP_ENABLED: 'true', OFFERSTREAM_HTTP_PORT: '0', OFFERSTREAM_API_TOKEN: TOKEN })
  await fx.addSubscribers(clients.map(c => [c, restaurant]))
  await fx.addSubscribers(clients.slice(0, 5).map(c => [c, later]))
  service = await runService(fx.config)
  base = `http://127.0.0.1:${service.httpPort}`
  browser = await chromium.launch({ executablePath: CHROMIUM })
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
})
after(async () => {
  await browser?.close()
  await service?.stop()
  await fx?.cleanup()
})

test('the dashboard asks for the token, then shows campaigns, throughput, DLQ reasons and the funnel, live', async () => {
  await page.goto(base)
  assert.equal(await page.title(), 'offerstream: sign in')
  await page.fill('input[name=token]', 'wrong')
  await page.click('button[type=submit]')
  assert.equal(await text('.error'), 'wrong token')
  await page.fill('input[name=token]', TOKEN)
  await page.click('button[type=submit]')
  await page.waitForSelector('#campaigns')
  assert.equal(await page.title(), 'offerstream')
  const chartBefore = await page.getAttribute('#chart polyline[data-series="written"]', 'points')

  // Holding the fan-out's table lock keeps the active campaign fanning with nothing committed yet, so
  // the in-flight state is seen for sure, not by luck of timing.
  const blocker = await fx.pool.connect()
  await blocker.query('begin')
  await blocker.query('lock table offerstream_fanouts in exclusive mode')

  // The page is already open: everything below arrives through its live updates.
  await fx.produce([
    event(campaign, restaurant, 'Lunch -20%', now - 60),
    event(pending, later, 'Tomorrow: free dessert', now + 3600),
    'garbage',
  ])

  try {
    await until('the active campaign shows fanning with an empty bar against its 3000 subscribers', async () => {
      const row = `tr[data-campaign="${campaign}"]`
      return (await text(`${row} .status`)) === 'fanning' && (await text(`${row} .count`)) === `0 / ${clients.length}`
    })
    await page.screenshot({ path: 'test/artifacts/dashboard-fanning.png' })
  } finally {
    await blocker.query('commit')
    blocker.release()
  }

  await until('the pending campaign shows 0 of its 5 subscribers', async () => {
    const row = `tr[data-campaign="${pending}"]`
    return (await text(`${row} .status`)) === 'pending' && (await text(`${row} .count`)) === '0 / 5'
  })
  await until('the active campaign is done with every subscriber pushed and a full bar', async () => {
    const row = `tr[data-campaign="${campaign}"]`
    if ((await text(`${row} .status`)) !== 'done' || (await text(`${row} .count`)) !== `${clients.length} / ${clients.length}`) return false
    return (await page.$eval(`${row} .bar > span`, e => (e as HTMLElement).style.width)) === '100%'
  })
  await until('the DLQ panel shows the rejected record with its reason', async () => {
    const li = 'li[data-code="not_json"]'
    return (
      /value is not JSON/.test((await text(`#dlq ${li} .reason`)) ?? '') &&
      ((await text(`#dlq ${li}`)) ?? '').includes(fx.config.inputTopic)
    )
  })
  await until('the chart moved and the peak rate counts the fan-out', async () => {
    const points = await page.getAttribute('#chart polyline[data-series="written"]', 'points')
    return points !== chartBefore && Number(await text('#peak')) > 0
  })

  const results = await fetch(`${base}/v1/feedback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      items: [
        ...clients.slice(0, 10).map(c => ({ adv_campaign_id: campaign, client_id: c, feedback: 'delivered', datetime_created: now })),
        ...clients.slice(0, 4).map(c => ({ adv_campaign_id: campaign, client_id: c, feedback: 'opened', datetime_created: now + 5 })),
        ...clients.slice(0, 2).map(c => ({ adv_campaign_id: campaign, client_id: c, feedback: 'clicked', datetime_created: now + 9 })),
        { adv_campaign_id: campaign, client_id: clients[9], feedback: 'dismissed', datetime_created: now + 3 },
      ],
    }),
  })
  assert.equal(results.status, 200)

  await page.click(`tr[data-campaign="${campaign}"]`)
  const funnel = async () =>
    page.$$eval('#funnel .step', steps =>
      Object.fromEntries(steps.map(s => [s.getAttribute('data-kind'), s.querySelector('.n')?.textContent])),
    )
  await until('the funnel shows the feedback counts', async () => {
    const f = await funnel()
    return f.opened === '4' && f.clicked === '2'
  })
  assert.deepEqual(await funnel(), {
    pushed: String(clients.length),
    delivered: '10',
    opened: '4',
    clicked: '2',
    redeemed: '0',
    dismissed: '1',
  })
  assert.equal(await text('#responded'), '5')
  assert.match((await text('#funnel-title')) ?? '', /Lunch -20%/)
  await page.screenshot({ path: 'test/artifacts/dashboard.png', fullPage: true })
})
