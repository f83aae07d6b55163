import os from 'node:os'
import pg from 'pg'
import { copyAudience, exactAudience } from '../testkit/audience.ts'
import { randomCampaign } from '../testkit/campaigns.ts'
import { percentiles } from '../testkit/quantiles.ts'
import type { Rng } from '../testkit/rng.ts'
import { watchFeedbackCommits, watchPushes } from '../testkit/sinks.ts'
import { createBenchEnv, type Services } from './bench-env.ts'
import { createInputProducer } from './produce.ts'
import { createProgress } from './progress.ts'
import { benchService } from './service-group.ts'
import { warmUp } from './warm-up.ts'

/**
 * Cancel-to-stop (issue 17): one restaurant with `subscribers` followers; each run sends a new
 * campaign to it, waits until half of the fan-out has committed (and 0-499 ms more), produces the campaign's cancel and
 * times, from that produce, the commit of the campaign's last push (each chunk's commit is timed by
 * its NOTIFY, testkit/sinks.ts). Also per run: when the cancel itself was seen committed, the pushes
 * before it, and the hard line (no row of the campaign committed after the cancel's row was seen
 * cancelled). The fan-out's chunk commit intervals say how long a cancel can wait for one.
 */
export async function runCancel(
  services: Services,
  rng: Rng,
  opts: { subscribers: number; runs: number; serviceEnv: Record<string, string>; nodeArgs: string[] },
) {
  const p = createProgress('cancel-to-stop')
  const env = await createBenchEnv(services, 'cancel', opts.serviceEnv)
  const service = benchService(env.config, opts.nodeArgs)
  const input = createInputProducer(env.config.kafkaBrokers, env.config.inputTopic)
  const kafka = await watchPushes(env.config.kafkaBrokers, env.config.outputTopic, false)
  const commits = await watchFeedbackCommits(env.config.databaseUrl, false)
  // Every chunk commit with its time, for the intervals (one notification per chunk, so few).
  const chunkTimes = new Map<string, number[]>()
  const listener = new pg.Client({ connectionString: env.config.databaseUrl })
  await listener.connect()
  listener.on('notification', n => {
    const id = (n.payload ?? '').split(',')[0]!
    const list = chunkTimes.get(id) ?? []
    list.push(Date.now())
    chunkTimes.set(id, list)
  })
  await listener.query('listen bench_fanout')
  const runs: Array<{
    stopMs: number
    cancelSeenMs: number
    pushedBefore: number
    lateRows: number
    chunkGapMs: { p50: number; max: number }
  }> = []
  try {
    const subs = exactAudience([opts.subscribers, 10], rng)
    await copyAudience(env.pool, subs, (done, n) => p.set(`loading subscribers ${done}/${n}`))
    service.start()
    await service.ready()
    p.set('warming up')
    await warmUp(env, subs, rng, input, kafka.seen, commits.seen)
    await kafka.close()
    const restaurant = subs.restaurantIds[0]!
    for (let run = 0; run < opts.runs; run++) {
      const f = randomCampaign(restaurant, rng, Math.floor(Date.now() / 1000), false)
      const id = f.adv_campaign_id
      await input.backlog([{ kind: 'valid', value: JSON.stringify(f), campaignId: id, expected: opts.subscribers }])
      const half = opts.subscribers / 2
      while ((commits.seen.byCampaign.get(id)?.count ?? 0) < half) {
        service.assertRunning()
        p.set(`run ${run + 1}/${opts.runs}: ${commits.seen.byCampaign.get(id)?.count ?? 0}/${half} rows before the cancel`)
        await new Promise(r => setTimeout(r, 5))
      }
      // Half is reached at a chunk's commit: a random pause puts the cancel anywhere in the next chunk
      // (a fan-out transaction took 0.3-0.9 s here), not always just after a commit.
      await new Promise(r => setTimeout(r, rng.int(500)))
      const cancel = JSON.stringify({ restaurant_id: restaurant, adv_campaign_id: id, adv_campaign_status: 'cancelled' })
      const producedAt = Date.now()
      await input.backlog([{ kind: 'valid', value: cancel, campaignId: id, expected: 0 }])
      // The cancel's commit, seen by polling (so up to one poll late); then the pushes at that moment.
      let seenAt = 0
      let atCancel = 0
      while (seenAt === 0) {
        const r = await env.pool.query<{ n: number }>(
          `select (select count(*)::int from subscribers_feedback where adv_campaign_id = $1) as n
           from offerstream_campaigns where adv_campaign_id = $1 and cancelled_at is not null`,
          [id],
        )
        if (r.rows[0]) {
          seenAt = Date.now()
          atCancel = r.rows[0].n
        } else await new Promise(res => setTimeout(res, 5))
      }
      // The writer ends the event as cancelled once it meets the cancel: every chunk after is empty.
      for (;;) {
        const s = await env.pool.query<{ status: string }>('select status from offerstream_events where adv_campaign_id = $1', [id])
        if (s.rows[0]?.status !== 'fanning') break
        await new Promise(res => setTimeout(res, 20))
      }
      await new Promise(res => setTimeout(res, 200)) // the last NOTIFY on its way
      const final = (
        await env.pool.query<{ n: number }>('select count(*)::int as n from subscribers_feedback where adv_campaign_id = $1', [id])
      ).rows[0]!.n
      const last = commits.seen.byCampaign.get(id)?.last ?? producedAt
      const times = chunkTimes.get(id) ?? []
      const gaps = times.slice(1).map((t, i) => t - times[i]!)
      const g = percentiles(gaps)
      runs.push({
        // A last push committed before the cancel was even produced stopped "at once".
        stopMs: Math.max(0, last - producedAt),
        cancelSeenMs: seenAt - producedAt,
        pushedBefore: final,
        lateRows: final - atCancel,
        chunkGapMs: { p50: g.p50, max: g.max },
      })
      p.set(`run ${run + 1}/${opts.runs}: stopped ${runs.at(-1)!.stopMs} ms after the cancel's produce, ${final} pushed`)
    }
    const stop = percentiles(runs.map(r => r.stopMs))
    p.done(`cancel-to-stop over ${runs.length} runs: p50 ${stop.p50} ms, p99 ${stop.p99} ms`)
    return {
      scenario: 'cancel',
      subscribers: opts.subscribers,
      chunk: env.config.fanoutChunk,
      load: os
        .loadavg()
        .map(l => l.toFixed(2))
        .join(' '),
      stopMs: stop,
      runs,
    }
  } finally {
    p.done()
    await service.stop().catch(() => {})
    await listener.end().catch(() => {})
    await kafka.close()
    await commits.close()
    await input.close()
    await env.cleanup()
  }
}
