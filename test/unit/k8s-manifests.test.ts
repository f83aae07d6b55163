import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { parseAllDocuments } from 'yaml'
import { SETTINGS } from '../../src/config/settings.ts'
import { buildHttp } from '../../src/http/server.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'

// deploy/k8s/: every document parses and has the structure a cluster would accept from it; every
// environment variable it sets is a real setting; probes hit a real route; the grace period covers
// the drain budget. (No cluster here: `kubectl apply --dry-run=server` is for the deploying team.)
const DIR = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url))
const ENV_NAMES = new Set<string>(Object.values(SETTINGS).map(s => s.env))

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field below
type Doc = any

function load(): { file: string; doc: Doc }[] {
  return readdirSync(DIR)
    .filter(f => f.endsWith('.yaml'))
    .flatMap(file =>
      parseAllDocuments(readFileSync(`${DIR}${file}`, 'utf8')).map(d => {
        assert.deepEqual(d.errors, [], `${file}: ${d.errors.join('; ')}`)
        return { file, doc: d.toJS() }
      }),
    )
}

const byKind = (kind: string) => load().filter(d => d.doc.kind === kind)
const one = (kind: string) => {
  const found = byKind(kind)
  assert.equal(found.length, 1, `one ${kind}`)
  return found[0]!.doc
}

function podSpecs(): { where: string; spec: Doc }[] {
  return [
    ...byKind('Deployment').map(d => ({ where: `Deployment ${d.doc.metadata.name}`, spec: d.doc.spec.template.spec })),
    ...byKind('Job').map(d => ({ where: `Job ${d.doc.metadata.name}`, spec: d.doc.spec.template.spec })),
  ]
}

test('every document parses, with apiVersion, kind and a name; all the expected kinds are there', () => {
  const docs = load()
  for (const { file, doc } of docs) {
    assert.ok(doc.apiVersion && doc.kind && doc.metadata?.name, `${file}: apiVersion, kind, metadata.name`)
  }
  const kinds = docs.map(d => `${d.doc.apiVersion} ${d.doc.kind}`).sort()
  assert.deepEqual(kinds, [
    'apps/v1 Deployment',
    'batch/v1 Job',
    'policy/v1 PodDisruptionBudget',
    'v1 ConfigMap',
    'v1 Secret',
    'v1 Service',
  ])
})

test('every environment variable set is a setting of src/config/settings.ts; the secrets are in the Secret', () => {
  const configMap = one('ConfigMap')
  const secret = one('Secret')
  for (const name of Object.keys(configMap.data)) assert.ok(ENV_NAMES.has(name), `ConfigMap: ${name} is not a setting`)
  for (const name of Object.keys(secret.stringData)) assert.ok(ENV_NAMES.has(name), `Secret: ${name} is not a setting`)
  for (const v of Object.values(configMap.data)) assert.equal(typeof v, 'string', 'ConfigMap values must be strings')
  // Settings marked secret never sit in the ConfigMap.
  for (const s of Object.values(SETTINGS)) {
    if ('secret' in s && s.secret) assert.ok(!(s.env in configMap.data), `${s.env} belongs in the Secret`)
  }
  for (const { where, spec } of podSpecs()) {
    for (const c of spec.containers) {
      for (const e of c.env ?? []) assert.ok(ENV_NAMES.has(e.name), `${where}: ${e.name} is not a setting`)
      const refs = (c.envFrom ?? []).map((r: Doc) => r.configMapRef?.name ?? r.secretRef?.name)
      assert.deepEqual(refs, [configMap.metadata.name, secret.metadata.name], `${where}: envFrom`)
    }
  }
})

test('the Deployment: static member id from the pod name, probes on a real route and port, grace period above the drain budget', async () => {
  const deployment = one('Deployment')
  const configMap = one('ConfigMap')
  const spec = deployment.spec.template.spec
  const [c] = spec.containers
  assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)
  assert.ok(deployment.spec.replicas >= 2 && deployment.spec.replicas <= Number(configMap.data.OFFERSTREAM_SHARDS))
  assert.deepEqual(c.args, ['run'])
  const instanceId = c.env.find((e: Doc) => e.name === 'OFFERSTREAM_GROUP_INSTANCE_ID')
  assert.deepEqual(instanceId?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } })

  const app = buildHttp({
    pool: new pg.Pool(),
    metrics: createMetrics(),
    apiToken: '',
    health: () => ({ ok: true, detail: {} }),
    throughput: { points: () => [], stop: () => {} },
    now: Date.now,
  })
  await app.ready()
  const port = c.ports.find((p: Doc) => p.name === 'http')
  assert.equal(String(port.containerPort), configMap.data.OFFERSTREAM_HTTP_PORT)
  assert.equal(configMap.data.OFFERSTREAM_HTTP_HOST, '0.0.0.0')
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const get = c[probe]?.httpGet
    assert.ok(get, `${probe}`)
    assert.equal(get.path, '/healthz')
    assert.ok(app.hasRoute({ method: 'GET', url: get.path }), `${probe}: no route ${get.path}`)
    assert.equal(get.port, 'http')
  }
  await app.close()

  const drainSeconds = Number(configMap.data.OFFERSTREAM_SHUTDOWN_TIMEOUT_MS ?? SETTINGS.shutdownTimeoutMs.default) / 1000
  assert.ok(spec.terminationGracePeriodSeconds >= drainSeconds + 10, 'terminationGracePeriodSeconds leaves the drain its budget')
  assert.equal(c.resources.requests.memory, '256Mi')
  assert.ok(c.resources.limits.memory)
  assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0)
})

test('every pod runs the image as non-root on a read-only root filesystem with /tmp writable', () => {
  for (const { where, spec } of podSpecs()) {
    assert.equal(spec.securityContext.runAsNonRoot, true, where)
    assert.equal(spec.securityContext.runAsUser, 10001, `${where}: the image's uid`)
    for (const c of spec.containers) {
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, where)
      const tmp = c.volumeMounts.find((m: Doc) => m.mountPath === '/tmp')
      assert.ok(
        spec.volumes.some((v: Doc) => v.name === tmp?.name && v.emptyDir),
        `${where}: /tmp emptyDir`,
      )
    }
  }
})

test('the migrate Job runs `migrate`, never restarts in place; the PDB and Service select the Deployment', () => {
  const job = one('Job')
  assert.deepEqual(job.spec.template.spec.containers[0].args, ['migrate'])
  assert.equal(job.spec.template.spec.restartPolicy, 'Never')
  const deployment = one('Deployment')
  const labels = deployment.spec.template.metadata.labels
  assert.deepEqual(one('PodDisruptionBudget').spec.selector.matchLabels, labels)
  const service = one('Service')
  assert.deepEqual(service.spec.selector, labels)
  assert.equal(service.spec.ports[0].targetPort, 'http')
})
