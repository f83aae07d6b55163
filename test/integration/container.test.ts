import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { after, before, test } from 'node:test'
import { SETTINGS, type SettingName } from '../../src/config/settings.ts'
import { buildImage, containerToolsMissing, podman, ULIMITS } from '../../testkit/container-image.ts'
import { createFixture, type Fixture } from '../../testkit/fixture.ts'
import { SEED_EVENT_VALUE, SEED_RESTAURANT, SEED_SUBSCRIBERS } from '../../testkit/seed.ts'
import { eventually } from '../../testkit/service.ts'
import { verifySinks } from '../../testkit/sinks.ts'
import { buildWorkload, type Workload } from '../../testkit/workload.ts'

// The image, for real: built from the Containerfile against a local Debian 12 base, two containers
// on the host network against the test stack, the seed example plus a bulk workload pushed through;
// one container is SIGKILLed mid-run, the other `podman stop`ped mid-run (a drain), the first started
// again to finish. Both sinks must be exact, the service must run as non-root on a read-only root
// filesystem, and `podman stop` must return within the drain budget with exit code 0.
const skip = containerToolsMissing()
const IMAGE = 'localhost/offerstream:test'
// OFFERSTREAM_SHUTDOWN_TIMEOUT_MS (15 s) plus start-up slack: what deploy/k8s gives the pod.
const STOP_BUDGET_S = 30
const id = randomBytes(3).toString('hex')
const names = { a: `offerstream-test-${id}-a`, b: `offerstream-test-${id}-b` }

let fx: Fixture
let w: Workload
const expected = new Set<string>()
const log = (m: string) => process.stderr.write(`[container] ${m}\n`)

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise(r => s.close(r))
  return port
}

/** `-e` flags for the fixture's settings; the HTTP host is left to the image (0.0.0.0). */
function envFlags(extra: Record<string, string>): string[] {
  const env: Record<string, string> = {}
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    if (name === 'httpHost' || name === 'stackDir') continue
    const v = fx.config[name]
    env[SETTINGS[name].env] = Array.isArray(v) ? v.join(',') : String(v)
  }
  Object.assign(env, { OFFERSTREAM_LOG_LEVEL: 'info', OFFERSTREAM_HTTP_ENABLED: 'true' }, extra)
  return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])
}

const runFlags = ['--network=host', '--read-only', ...ULIMITS]

async function rows(): Promise<number> {
  return (await fx.pool.query<{ n: number }>('select count(*)::int as n from subscribers_feedback')).rows[0]!.n
}

function inspect(name: string, format: string): string {
  return podman(['inspect', '--format', format, name]).stdout.trim()
}

/** `podman stop` with the budget; returns how long it took and the container's exit code. */
function stop(name: string): { seconds: number; exitCode: number } {
  const t0 = Date.now()
  const r = podman(['stop', '-t', String(STOP_BUDGET_S), name])
  assert.equal(r.status, 0, r.stderr)
  return { seconds: (Date.now() - t0) / 1000, exitCode: Number(inspect(name, '{{.State.ExitCode}}')) }
}

before(async () => {
  if (skip) return
  buildImage(IMAGE, log)
  // Small transactions, so that "mid-run" lasts long enough to be hit.
  fx = await createFixture({ OFFERSTREAM_FANOUT_CHUNK: '100', OFFERSTREAM_RELAY_BATCH: '200' })
  w = buildWorkload({ pushes: 20000, subscribersPerRestaurant: 1000 })
  for (const k of w.expected) expected.add(k)
  const seedCampaign = JSON.parse(SEED_EVENT_VALUE).adv_campaign_id as string
  for (const [, c, r] of SEED_SUBSCRIBERS) if (r === SEED_RESTAURANT) expected.add(`${seedCampaign}/${c}`)
  await fx.addSubscribers([...w.subscribers, ...SEED_SUBSCRIBERS.map(([, c, r]) => [c, r] as [string, string])])
})

after(async () => {
  if (skip) return
  for (const name of Object.values(names)) {
    const logs = podman(['logs', name])
    if (logs.status === 0) process.stderr.write(`[container] last log lines of ${name}:\n${(logs.stdout + logs.stderr).slice(-4000)}\n`)
    podman(['rm', '-f', '-t', '0', name])
  }
  await fx?.cleanup()
})

test('the image: migrate, two instances, SIGKILL and podman stop mid-run, both sinks exact', { skip, timeout: 900000 }, async () => {
  const migrate = podman(['run', '--rm', ...runFlags, ...envFlags({}), IMAGE, 'migrate'])
  assert.equal(migrate.status, 0, migrate.stderr)

  const ports = { a: await freePort(), b: await freePort() }
  for (const k of ['a', 'b'] as const) {
    const r = podman([
      'run',
      '-d',
      '--name',
      names[k],
      ...runFlags,
      ...envFlags({ OFFERSTREAM_HTTP_PORT: String(ports[k]), OFFERSTREAM_GROUP_INSTANCE_ID: names[k] }),
      IMAGE,
      'run',
    ])
    assert.equal(r.status, 0, r.stderr)
  }
  // The image's HEALTHCHECK (GET /healthz on the port the image was told), run by podman itself.
  for (const k of ['a', 'b'] as const) {
    const healthy = await eventually(async () => podman(['healthcheck', 'run', names[k]]).status === 0, 120000)
    assert.ok(healthy, `${names[k]} never became healthy:\n${podman(['logs', names[k]]).stderr.slice(-3000)}`)
  }
  // Non-root: the image's user, and the uid the service process (pid 1) really runs as.
  for (const k of ['a', 'b'] as const) {
    assert.equal(inspect(names[k], '{{.Config.User}}'), '10001:10001')
    const status = podman(['exec', names[k], 'cat', '/proc/1/status']).stdout
    assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m)
    const metrics = await (await fetch(`http://127.0.0.1:${ports[k]}/metrics`)).text()
    assert.match(metrics, /^offerstream_healthy 1$/m)
  }

  await fx.produce([...w.values, SEED_EVENT_VALUE])
  assert.ok(await eventually(async () => (await rows()) > 0, 120000), 'no row written')
  const rowsAtKill = await rows()
  assert.ok(rowsAtKill < expected.size, `the workload was done before the kill (${rowsAtKill} rows)`)
  assert.equal(podman(['kill', '--signal', 'KILL', names.a]).status, 0)
  log(`SIGKILL ${names.a} at ${rowsAtKill} of ${expected.size} rows`)

  // b takes a's shards over and keeps writing; stop it mid-run too.
  assert.ok(await eventually(async () => (await rows()) > rowsAtKill, 120000), 'no progress after the kill')
  const rowsAtStop = await rows()
  const stopB = stop(names.b)
  log(`podman stop ${names.b} at ${rowsAtStop} rows: ${stopB.seconds.toFixed(1)} s, exit ${stopB.exitCode}`)
  assert.equal(stopB.exitCode, 0)
  assert.ok(stopB.seconds < STOP_BUDGET_S, `podman stop took ${stopB.seconds} s`)
  assert.match(podman(['logs', names.b]).stdout + podman(['logs', names.b]).stderr, /"msg":"stopped"/)

  // a comes back under its static member id and finishes the rest.
  assert.equal(podman(['start', names.a]).status, 0)
  const pushes = await fx.readTopic(fx.config.outputTopic, { atLeast: expected.size, timeoutMs: 300000, settleMs: 3000 })
  const sinks = await verifySinks(fx.pool, pushes, expected)
  const exact = { missing: 0, duplicated: 0, unexpected: 0, total: expected.size }
  assert.deepEqual(sinks, { expected: expected.size, pg: exact, kafka: exact }, `rows at the kill ${rowsAtKill}, at the stop ${rowsAtStop}`)

  // `report` through the same entrypoint: the seed campaign with its nine pushes.
  const report = podman(['run', '--rm', ...runFlags, ...envFlags({}), IMAGE, 'report', '--restaurant', SEED_RESTAURANT, '--json'])
  assert.equal(report.status, 0, report.stderr)
  assert.match(report.stdout, new RegExp(JSON.parse(SEED_EVENT_VALUE).adv_campaign_id))

  const stopA = stop(names.a)
  log(`podman stop ${names.a} (idle): ${stopA.seconds.toFixed(1)} s, exit ${stopA.exitCode}`)
  assert.equal(stopA.exitCode, 0)
  assert.ok(stopA.seconds < STOP_BUDGET_S)
})
