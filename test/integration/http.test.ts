import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Service } from '../../src/service/app.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { SEED_EVENT_VALUE } from '../../testkit/seed.ts'
import { eventually, runService } from '../../testkit/service.ts'

let fx: Fixture
let service: Service
let base: string

before(async () => {
  fx = await createFixture({ OFFERSTREAM_HTTP_ENABLED: 'true', OFFERSTREAM_HTTP_PORT: '0' })
  service = await runService(fx.config)
  base = `http://127.0.0.1:${service.httpPort}`
})
after(async () => {
  await service?.stop()
  await fx?.cleanup()
})

test('/healthz is 200 while the writer, relay and feedback loops are healthy', async () => {
  const res = await fetch(`${base}/healthz`)
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { ok: true, detail: { writer: 'ok', relay: 'ok', feedback: 'ok' } })
})

test('/metrics counts accepted and rejected input', async () => {
  await fx.produce([SEED_EVENT_VALUE, 'garbage'])
  const seen = await eventually(async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    return (
      /offerstream_events_rejected_total\{code="not_json"\} 1/.test(text) &&
      /offerstream_events_accepted_total\{disposition="active"\} 1/.test(text)
    )
  })
  assert.ok(seen)
})

test('unknown paths get a 404 with a reason', async () => {
  const res = await fetch(`${base}/nope`)
  assert.equal(res.status, 404)
  assert.match(JSON.stringify(await res.json()), /not found/i)
})
