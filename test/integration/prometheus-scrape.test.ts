import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Service } from '../../src/service/app.ts'
import { alertSignal, loadAlertRules, RULES_FILE } from '../../testkit/alert-rules.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { SEED_EVENT_VALUE, SEED_SUBSCRIBERS } from '../../testkit/seed.ts'
import { eventually, runService } from '../../testkit/service.ts'

// Debian's Prometheus scrapes a running service (seed example pushed through) every second, with
// the alert rules loaded: every alert expression and every Grafana query must return a series, so no
// rule or panel names a metric the service does not export or is silently empty.
const PROMETHEUS = '/usr/bin/prometheus'
const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/offerstream.json', import.meta.url))
const skip = existsSync(PROMETHEUS) ? false : `${PROMETHEUS} is not installed (apt-get install prometheus; .ci/run does)`

let fx: Fixture
let service: Service
let prometheus: ChildProcess | undefined
let dir: string
let api: string
let log = ''

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise(r => s.close(r))
  return port
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await r.json()) as {
    status: string
    error?: string
    data: { result: { metric: Record<string, string>; value: [number, string] }[] }
  }
  assert.equal(body.status, 'success', `${expr}: ${body.error}`)
  return body.data.result
}

before(async () => {
  if (skip) return
  fx = await createFixture({ OFFERSTREAM_HTTP_ENABLED: 'true', OFFERSTREAM_HTTP_PORT: '0', OFFERSTREAM_HTTP_HOST: '127.0.0.1' })
  await fx.addSubscribers(SEED_SUBSCRIBERS.map(([, c, r]) => [c, r]))
  service = await runService(fx.config)
  await fx.produce([SEED_EVENT_VALUE])
  assert.equal((await fx.readTopic(fx.config.outputTopic, { atLeast: 9 })).length, 9)
  dir = mkdtempSync(join(tmpdir(), 'offerstream-prometheus-'))
  writeFileSync(
    join(dir, 'prometheus.yml'),
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [RULES_FILE],
      scrape_configs: [{ job_name: 'offerstream', static_configs: [{ targets: [`127.0.0.1:${service.httpPort}`] }] }],
    }),
  )
  const port = await freePort()
  api = `http://127.0.0.1:${port}`
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  prometheus.stderr!.on('data', d => {
    log = (log + d).slice(-5000)
  })
  // rate() over [1m] needs two samples; a few more keep the test clear of scrape jitter.
  const scraped = await eventually(async () => {
    try {
      const r = await query('count_over_time(up{job="offerstream"}[1m])')
      return Number(r[0]?.value[1] ?? 0) >= 4 && Number((await query('up{job="offerstream"}'))[0]?.value[1]) === 1
    } catch {
      return false
    }
  }, 60000)
  assert.ok(scraped, `Prometheus did not scrape the service:\n${log}`)
})

after(async () => {
  prometheus?.kill('SIGTERM')
  if (prometheus && prometheus.exitCode === null) await new Promise(r => prometheus!.once('exit', r))
  await service?.stop()
  await fx?.cleanup()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('Prometheus loads the rules and evaluates every one without error', { skip }, async () => {
  const expected = loadAlertRules().map(r => r.alert)
  const ok = await eventually(async () => {
    const body = (await (await fetch(`${api}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] }
    }
    const rules = body.data.groups.flatMap(g => g.rules)
    const evaluated = rules.filter(r => !r.lastEvaluation.startsWith('0001'))
    for (const r of rules) assert.notEqual(r.health, 'err', `${r.name}: ${r.lastError}`)
    return expected.every(name => evaluated.some(r => r.name === name && r.health === 'ok'))
  })
  assert.ok(ok, 'not every rule was evaluated')
})

test('every alert expression returns a series from the scraped service (its comparison as bool)', { skip }, async () => {
  for (const rule of loadAlertRules()) {
    const signal = alertSignal(rule.expr)
    assert.ok(signal, rule.alert)
    const result = await query(signal)
    assert.ok(result.length > 0, `${rule.alert}: ${signal} returned no series`)
    // A healthy service with one campaign pushed through: nothing may be firing.
    for (const s of result) assert.equal(s.value[1], '0', `${rule.alert} would fire on a healthy service: ${JSON.stringify(s)}`)
  }
})

test('every Grafana query returns a series', { skip }, async () => {
  const board = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] }
  let n = 0
  for (const panel of board.panels) {
    for (const t of panel.targets) {
      const expr = t.expr.replaceAll('$__rate_interval', '1m')
      const result = await query(expr)
      assert.ok(result.length > 0, `panel "${panel.title}": ${expr} returned no series`)
      n++
    }
  }
  assert.ok(n >= 20, `only ${n} queries`)
})

test("the seed campaign's latency, from due to its pushes in Kafka, is in the histogram", { skip }, async () => {
  const [count] = await query('offerstream_campaign_latency_seconds_count')
  const [sum] = await query('offerstream_campaign_latency_seconds_sum')
  assert.equal(count?.value[1], '1', 'one fan-out range (nine subscribers, one chunk)')
  // Due when it arrived (its start is in the past); published well within a minute here.
  assert.ok(Number(sum?.value[1]) > 0 && Number(sum?.value[1]) < 60, `latency ${sum?.value[1]} s`)
})

test('every metric name in the rules and the board is one the service exports', { skip }, async () => {
  const text = readFileSync(RULES_FILE, 'utf8') + readFileSync(DASHBOARD, 'utf8')
  const names = new Set(text.match(/\bofferstream_[a-z0-9_]+/g))
  const exported = new Set((await query('count by (__name__) ({__name__=~"offerstream_.+"})')).map(s => s.metric.__name__))
  for (const name of names) assert.ok(exported.has(name), `${name} is not exported`)
})
