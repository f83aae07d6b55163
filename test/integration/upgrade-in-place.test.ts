import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { pushMessage } from '../../src/core/push-message.ts'
import { campaignJson } from '../../testkit/campaigns.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { eventually } from '../../testkit/service.ts'
import { envFor, ServiceProcess } from '../../testkit/service-process.ts'
import { verifySinks } from '../../testkit/sinks.ts'

// The guard for every future migration: a deployment exactly as the first release (schema 000001)
// leaves it when it is stopped mid-work, then `offerstream migrate` and `offerstream run` of the
// current code. The old state is written here by hand, in the old formats, never by today's code:
// - schema: 000001_init.sql only, recorded in offerstream_migrations;
// - a campaign half fanned out (status fanning, resume point, 1,000 feedback rows, their range),
//   600 of its pushes already published with the relay cursor {"push":600,"dlq":0} in one Kafka
//   transaction under the relay's transactional id;
// - a campaign pending until a few seconds into the test;
// - an input record consumed by nobody yet, and one produced after the upgrade.
// Every (campaign, client) must end up exactly once in both sinks.

const BIN = fileURLToPath(new URL('../../bin/offerstream.js', import.meta.url))
const INIT_SQL = readFileSync(fileURLToPath(new URL('../../src/pg/migrations/000001_init.sql', import.meta.url)), 'utf8')
const RELEASE_1_SCHEMA = `
create table offerstream_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now());
${INIT_SQL}
insert into offerstream_migrations (version, name) values (1, '000001_init.sql');`

const clients = (n: number) => Array.from({ length: n }, () => randomUUID()).sort()

function migrateCli(fx: Fixture): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'migrate'], { env: envFor(fx.config), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => (out += d))
  child.stderr.on('data', d => (out += d))
  return new Promise(resolve => child.on('exit', code => resolve({ code, out })))
}

test('upgrade in place from release 1 stopped mid-fan-out: nothing lost or repeated in either sink', async () => {
  const fx = await createFixture(
    { OFFERSTREAM_FANOUT_CHUNK: '700', OFFERSTREAM_LOG_LEVEL: 'warn' },
    { setupSql: RELEASE_1_SCHEMA, migrate: false },
  )
  const svc = new ServiceProcess(fx.config)
  try {
    const now = Math.floor(Date.now() / 1000)
    const [big, small] = [randomUUID(), randomUUID()]
    const bigClients = clients(3000)
    const smallClients = clients(400)
    await fx.addSubscribers([
      ...bigClients.map(c => [c, big] as [string, string]),
      ...smallClients.map(c => [c, small] as [string, string]),
    ])
    const ids = { half: randomUUID(), pending: randomUUID(), unread: randomUUID(), later: randomUUID() }
    const pendingStart = now + 8
    const values = [
      campaignJson(big, ids.half, 'half done', now - 60, now + 7200, now - 90),
      campaignJson(small, ids.pending, 'starts soon', pendingStart, now + 7200, now - 90),
      campaignJson(big, ids.unread, 'not consumed yet', now - 60, now + 7200, now - 90),
    ]
    for (const v of values) await fx.produce([v]) // one by one: offsets 0, 1, 2 of one partition (same key)
    const input = await fx.readTopic(fx.config.inputTopic, { atLeast: 3 })
    const at = (campaign: string) => {
      const r = input.find(m => m.value?.toString().includes(campaign))
      assert.ok(r, campaign)
      return [fx.config.inputTopic, r.partition, Number(r.offset)] as const
    }

    // Release 1's writer: both consumed campaigns stored, the active one fanned out to its first 1,000 clients.
    const trigger = now - 5
    const event = (status: string, campaign: string, restaurant: string, content: string, start: number, extra: string) =>
      fx.pool.query(
        `insert into offerstream_events (source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
           adv_campaign_content, adv_campaign_owner, adv_campaign_owner_contact, adv_campaign_datetime_start,
           adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created, fanout_after, pushed)
         values ($1, $2, $3, $4, $5, $6, 'Ivanov Ivan Ivanovich', 'iiivanov@restaurant.ru', $7, $8, $9, $10, ${extra}) returning id`,
        [...at(campaign), restaurant, campaign, content, start, now + 7200, now - 90, status],
      )
    const half = (await event('fanning', ids.half, big, 'half done', now - 60, `${trigger}, '${bigClients[999]}', 1000`)).rows[0]
      .id as number
    await event('pending', ids.pending, small, 'starts soon', pendingStart, 'null, null, 0')
    await fx.pool.query(
      `insert into subscribers_feedback (restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_owner,
         adv_campaign_owner_contact, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created, client_id,
         trigger_datetime_created)
       select $1, $2, 'half done', 'Ivanov Ivan Ivanovich', 'iiivanov@restaurant.ru', $3, $4, $5, c, $6
       from unnest($7::uuid[]) with ordinality as t(c, n) order by n`,
      [big, ids.half, now - 60, now + 7200, now - 90, trigger, bigClients.slice(0, 1000)],
    )
    await fx.pool.query(`insert into offerstream_fanouts values (1, 1000, $1, $2, 1000)`, [half, ids.half])

    // Release 1's relay: pushes for ids 1..600 and its cursor, committed together.
    const campaign = {
      restaurantId: big,
      campaignId: ids.half,
      content: 'half done',
      owner: 'Ivanov Ivan Ivanovich',
      ownerContact: 'iiivanov@restaurant.ru',
      start: now - 60,
      end: now + 7200,
      created: now - 90,
    }
    const relay = new Producer({
      clientId: 'release-1-relay',
      bootstrapBrokers: fx.config.kafkaBrokers,
      transactionalId: fx.config.transactionalId,
      idempotent: true,
      serializers: stringSerializers,
    })
    try {
      const tx = await relay.beginTransaction()
      const pushes = bigClients.slice(0, 600).map(c => ({
        topic: fx.config.outputTopic,
        key: c,
        value: pushMessage(campaign, c, trigger),
      }))
      for (let i = 0; i < pushes.length; i += 200) await tx.send({ messages: pushes.slice(i, i + 200) })
      await tx.send({ messages: [{ topic: fx.config.stateTopic, key: fx.config.transactionalId, value: '{"push":600,"dlq":0}' }] })
      await tx.commit()
    } finally {
      await relay.close()
    }

    // The upgrade: migrate, then run the current code on that state.
    const migrated = await migrateCli(fx)
    assert.equal(migrated.code, 0, migrated.out)
    svc.start()
    await fx.produce([campaignJson(small, ids.later, 'after the upgrade', now - 60, now + 7200, now - 30)])

    const expected = new Set<string>()
    for (const c of bigClients) for (const id of [ids.half, ids.unread]) expected.add(`${id}/${c}`)
    for (const c of smallClients) for (const id of [ids.pending, ids.later]) expected.add(`${id}/${c}`)
    const rows = async () => (await fx.pool.query('select count(*)::int as n from subscribers_feedback')).rows[0].n as number
    assert.ok(
      await eventually(async () => (await rows()) >= expected.size, 120000),
      `${await rows()} of ${expected.size} rows\n${svc.output}`,
    )
    const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: expected.size, timeoutMs: 60000, settleMs: 2000 })
    const exact = { missing: 0, duplicated: 0, unexpected: 0, total: expected.size }
    assert.deepEqual(await verifySinks(fx.pool, pushes, expected), { expected: expected.size, pg: exact, kafka: exact })
    // The pushes release 1 published are the ones kept: same trigger time in both sinks.
    const old = pushes.filter(p => p.value?.toString().includes(ids.half)).map(p => JSON.parse(String(p.value)).trigger_datetime_created)
    assert.deepEqual(new Set(old), new Set([trigger]))
    assert.equal((await svc.kill('SIGTERM')).code, 0, svc.output)
  } finally {
    if (svc.running) await svc.kill('SIGKILL')
    await fx.cleanup()
  }
})
