import { buildFeedbackWorkload, type FeedbackWorkload } from '../../testkit/feedback-workload.ts'
import type { Fixture } from '../../testkit/fixture.ts'
import { ServiceProcess } from '../../testkit/service-process.ts'
import { type Tally, tallyAgainst, waitForFeedback } from '../../testkit/sinks.ts'
import type { Workload } from '../../testkit/workload.ts'

interface FeedbackKillOptions {
  kills: number
  maxLifeMs?: number
  timeoutMs?: number
  nowSeconds: number
  log?: (m: string) => void
}

interface FeedbackKillReport {
  kills: number
  /** offerstream_feedback rows at each kill: shows the kills landed mid-intake. */
  rowsAtKill: number[]
  events: Tally & { expected: number }
  dlq: Tally & { expected: number }
  /** Pushes whose subscribers_feedback.feedback is not the furthest stage sent. */
  wrongStages: number
  cleanExit: boolean
  output: string
}

const feedbackRows = (fx: Fixture) =>
  fx.pool
    .query('select count(*)::int as n from offerstream_feedback')
    .then(r => r.rows[0].n as number)
    .catch(() => -1)

/**
 * Fans the campaigns out (one incarnation, SIGKILLed once every push is stored), then sends
 * feedback for those pushes, with retries, malformed records and feedback for pushes never made,
 * while SIGKILLing `offerstream run` at random moments; a last incarnation finishes. Checks every
 * distinct event is stored once, every bad record is in the feedback DLQ once (read_committed), and
 * every push holds its furthest stage.
 */
export async function feedbackKillRun(
  fx: Fixture,
  w: Workload,
  o: FeedbackKillOptions,
): Promise<FeedbackKillReport & { workload: FeedbackWorkload }> {
  const log = o.log ?? (() => {})
  const timeoutMs = o.timeoutMs ?? 600000
  const maxLife = o.maxLifeMs ?? 4000
  await fx.addSubscribers(w.subscribers)
  await fx.produce(w.values)
  const svc = new ServiceProcess(fx.config)
  svc.start()
  const pushed = await waitForFeedback(fx, w.expected.size, timeoutMs)
  await svc.kill('SIGKILL')
  log(`campaigns fanned out: ${pushed}/${w.expected.size} pushes`)

  const f = buildFeedbackWorkload(w.expected, { nowSeconds: o.nowSeconds })
  // In sends of 1,000: one produce request must stay under the broker's 1 MB message limit.
  const send = async (values: string[]) => {
    for (let i = 0; i < values.length; i += 1000) await fx.produce(values.slice(i, i + 1000), 'app', fx.config.feedbackTopic)
  }
  const per = Math.ceil(f.values.length / Math.max(1, o.kills))
  const rowsAtKill: number[] = []
  let kills = 0
  for (let k = 0; k < o.kills; k++) {
    const slice = f.values.slice(k * per, (k + 1) * per)
    await send(slice)
    svc.start()
    // A quarter of the kills land in startup and group join. The rest wait until this incarnation
    // stores feedback (joining the group can take a dead member's session timeout), then a random
    // while, so they land in the intake's transactions and offset commits.
    const early = Math.random() < 0.25
    if (!early) {
      const before = await feedbackRows(fx)
      const until = Date.now() + 30000
      while (Date.now() < until && (await feedbackRows(fx)) <= before) await new Promise(r => setTimeout(r, 50))
    }
    const life = early ? 100 + Math.random() * 900 : Math.random() * maxLife
    await new Promise(r => setTimeout(r, life))
    const result = await svc.kill('SIGKILL')
    if (result.signal === 'SIGKILL') kills++
    else log(`incarnation ${k} had already exited: ${JSON.stringify(result)}\n${svc.output.slice(-3000)}`)
    rowsAtKill.push(await feedbackRows(fx))
    log(
      `kill ${k + 1}/${o.kills} ${early ? `${Math.round(life)} ms after start` : `${Math.round(life)} ms into intake`}: ${rowsAtKill.at(-1)}/${f.events.size} feedback events`,
    )
  }
  await send(f.values.slice(o.kills * per))
  svc.start()

  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && (await feedbackRows(fx)) < f.events.size) await new Promise(r => setTimeout(r, 250))
  const dlqRecords = await fx.readTopic(fx.config.feedbackDlqTopic, { atLeast: f.bad.size, timeoutMs, settleMs: 3000 })
  const stopped = await svc.kill('SIGTERM')

  const { rows } = await fx.pool.query<{ k: string; n: number }>(
    `select adv_campaign_id || '/' || client_id || '/' || feedback || '/' || datetime_created as k, count(*)::int as n
     from offerstream_feedback group by 1`,
  )
  const dlqCounts = new Map<string, number>()
  for (const d of dlqRecords) {
    const v = d.value?.toString() ?? '<null>'
    dlqCounts.set(v, (dlqCounts.get(v) ?? 0) + 1)
  }
  const stages = await fx.pool.query<{ k: string; feedback: string | null }>(
    `select adv_campaign_id || '/' || client_id as k, feedback from subscribers_feedback`,
  )
  const wrongStages = stages.rows.filter(r => r.feedback !== (f.stages.get(r.k) ?? null)).length
  return {
    kills,
    rowsAtKill,
    events: { expected: f.events.size, ...tallyAgainst(f.events, new Map(rows.map(r => [r.k, r.n]))) },
    dlq: { expected: f.bad.size, ...tallyAgainst(f.bad, dlqCounts) },
    wrongStages,
    cleanExit: stopped.code === 0,
    output: svc.output,
    workload: f,
  }
}
