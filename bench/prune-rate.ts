// node bench/prune-rate.ts [--events 400000] [--rejects 200000] [--batch 10000]
// Prune speed: loads finished, published campaigns (one event, one fan-out range and one
// subscribers_feedback row each) and rejects by generate_series into a fresh database, then times
// `prune` and `prune --feedback-too` on them, in a database of its own on DATABASE_URL's server (or a throwaway local stack).
import { parseArgs } from 'node:util'
import { pruneBookkeeping } from '../src/service/retention.ts'
import { withScratchDatabase } from '../testkit/scratch-db.ts'

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '400000' },
    rejects: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '10000' },
  },
})
const [events, rejects, batch] = [Number(a.events), Number(a.rejects), Number(a.batch)]
await withScratchDatabase({ prefix: 'prune_bench', poolSize: 2, log: m => console.log(m) }, async pool => {
  const t0 = performance.now()
  await pool.query(
    `insert into offerstream_events (id, source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
       adv_campaign_content, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created, status, trigger_datetime_created, pushed)
     select i, 'in', 0, i, gen_random_uuid(), gen_random_uuid(), repeat('x', 100), 1000, 2000, 1000, 'done', 1500, 1
     from generate_series(1, $1) i`,
    [events],
  )
  await pool.query(
    `insert into subscribers_feedback (id, restaurant_id, adv_campaign_id, adv_campaign_content, adv_campaign_datetime_start,
       adv_campaign_datetime_end, datetime_created, client_id, trigger_datetime_created)
     select e.id, e.restaurant_id, e.adv_campaign_id, e.adv_campaign_content, 1000, 2000, 1000, gen_random_uuid(), 1500
     from offerstream_events e`,
  )
  await pool.query(`insert into offerstream_fanouts select id, id, id, adv_campaign_id, 1 from offerstream_events`)
  await pool.query(
    `insert into offerstream_rejects (source_topic, source_partition, source_offset, record_value, code, reason, received_at)
     select 'in', 0, i, decode(repeat('ab', 200), 'hex'), 'not_json', 'not JSON', to_timestamp(1500) from generate_series(1, $1) i`,
    [rejects],
  )
  await pool.query('vacuum analyze')
  const loaded = events * 2 + rejects
  console.log(
    `loaded ${events} events + ${events} fan-out ranges + ${rejects} rejects (${loaded} rows) in ${Math.round(performance.now() - t0)} ms`,
  )
  const r = await pruneBookkeeping(pool, { cutoff: 3000, published: [{ push: events, dlq: rejects }], batch, feedbackToo: false })
  const rows = r.events + r.fanouts + r.rejects
  console.log(`prune: ${JSON.stringify(r)}`)
  console.log(`prune: ${rows} bookkeeping rows in ${r.seconds} s = ${Math.round(rows / r.seconds)} rows/s (batch ${batch})`)
  const f = await pruneBookkeeping(pool, { cutoff: 3000, published: [{ push: events, dlq: rejects }], batch, feedbackToo: true })
  console.log(
    `prune --feedback-too: ${f.feedbackRows} feedback rows + ${f.feedbackRanges} ranges in ${f.seconds} s = ${Math.round((f.feedbackRows + f.feedbackRanges) / f.seconds)} rows/s`,
  )
})
