import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ensureAirflowVenv } from '../../testkit/airflow-venv.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { envFor } from '../../testkit/service-process.ts'

// The nightly DAG, for real: Airflow from PyPI in a cached virtualenv, a SQLite metadata database
// in a temporary AIRFLOW_HOME, and `airflow dags test` running both tasks, which call the CLI
// against this test's database.
const DAGS = fileURLToPath(new URL('../../airflow/dags/', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/offerstream.js', import.meta.url))
let fx: Fixture
let home: string
let bin: string
before(async () => {
  bin = ensureAirflowVenv(m => process.stderr.write(`[airflow venv] ${m}\n`))
  fx = await createFixture()
  home = mkdtempSync(join(tmpdir(), 'offerstream-airflow-'))
})
after(async () => {
  await fx?.cleanup()
  if (home) rmSync(home, { recursive: true, force: true })
})

function airflow(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(envFor(fx.config))) if (!k.startsWith('AIRFLOW')) env[k] = v
  Object.assign(env, {
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: DAGS,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${join(home, 'airflow.db')}`,
    ...extra,
  })
  const r = spawnSync(args[0]!, args.slice(1), { env, encoding: 'utf8', cwd: home })
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` }
}

test('the DAG imports cleanly: two tasks, prune then report, nightly', () => {
  const r = airflow([
    `${bin}python`,
    '-c',
    `from airflow.models import DagBag
import json
b = DagBag(dag_folder=${JSON.stringify(DAGS)}, include_examples=False)
d = b.dags["offerstream_maintenance"]
print(json.dumps({"errors": {k: str(v) for k, v in b.import_errors.items()}, "tasks": sorted(t.task_id for t in d.tasks),
  "schedule": str(d.schedule_interval), "downstream": sorted(d.get_task("prune").downstream_task_ids)}))`,
  ])
  assert.equal(r.status, 0, r.output.slice(-3000))
  const info = JSON.parse(
    r.output
      .trim()
      .split('\n')
      .find(l => l.startsWith('{"errors"'))!,
  )
  assert.deepEqual(info, { errors: {}, tasks: ['prune', 'report'], schedule: '0 2 * * *', downstream: ['report'] })
})

test('a DAG run prunes the old bookkeeping and writes the dated report', async () => {
  const now = Math.floor(Date.now() / 1000)
  const restaurant = randomUUID()
  const insertEvent = async (campaign: string, status: string, end: number, offset: number) =>
    (
      await fx.pool.query(
        `insert into offerstream_events (source_topic, source_partition, source_offset, restaurant_id, adv_campaign_id,
           adv_campaign_content, adv_campaign_datetime_start, adv_campaign_datetime_end, datetime_created, status)
         values ('in', 0, $1, $2, $3, 'airflow test', $4, $5, $4, $6) returning id`,
        [offset, restaurant, campaign, end - 7200, end, status],
      )
    ).rows[0].id as number
  const old = randomUUID()
  const recent = randomUUID()
  const oldId = await insertEvent(old, 'expired', now - 40 * 86400, 1)
  const recentId = await insertEvent(recent, 'expired', now - 3600, 2)
  assert.ok(oldId < recentId)

  const reports = join(home, 'reports')
  const day = new Date().toISOString().slice(0, 10)
  const t0 = Date.now()
  const migrate = airflow([`${bin}airflow`, 'db', 'migrate'])
  assert.equal(migrate.status, 0, migrate.output.slice(-3000))
  const run = airflow([`${bin}airflow`, 'dags', 'test', 'offerstream_maintenance', day], {
    AIRFLOW_VAR_OFFERSTREAM_COMMAND: `${process.execPath} ${BIN}`,
    AIRFLOW_VAR_OFFERSTREAM_REPORT_DIR: reports,
  })
  process.stderr.write(`[airflow] db migrate + dags test: ${Math.round((Date.now() - t0) / 1000)} s\n`)
  const tail = run.output.slice(-4000)
  assert.equal(run.status, 0, tail)
  assert.match(run.output, /prune: .*events=1/, tail)

  const left = (await fx.pool.query('select adv_campaign_id from offerstream_events')).rows.map(r => r.adv_campaign_id)
  assert.deepEqual(left, [recent], 'the campaign that ended 40 days ago was pruned, yesterday`s kept')
  const file = join(reports, `offerstream-report-${day}.json`)
  assert.ok(existsSync(file), `${file} missing\n${tail}`)
  assert.ok(!existsSync(`${file}.tmp`))
  const report = JSON.parse(readFileSync(file, 'utf8')) as Array<{ campaignId: string; restaurantId: string; pushed: number }>
  assert.deepEqual(
    report.map(c => [c.campaignId, c.restaurantId, c.pushed]),
    [[recent, restaurant, 0]],
  )
})
