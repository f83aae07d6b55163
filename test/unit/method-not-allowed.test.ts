import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { buildHttp } from '../../src/http/server.ts'
import { createMetrics } from '../../src/metrics/metrics.ts'

// RFC 9110: a path that exists under other methods answers 405 with Allow; an unknown path, 404.
// (No request here reaches the database: the pool never connects.)
const app = buildHttp({
  pool: new pg.Pool(),
  metrics: createMetrics(),
  apiToken: 'secret',
  health: () => ({ ok: true, detail: {} }),
  throughput: { points: () => [], stop: () => {} },
  now: Date.now,
})

test('an undeclared method on a known path: 405 with Allow, whatever the method and body', async () => {
  for (const [method, url, allow] of [
    ['DELETE', '/v1/feedback', 'POST'],
    ['TRACE', '/healthz', 'GET, HEAD'],
    ['PUT', '/v1/campaigns/123e4567-e89b-12d3-a456-426614174003/stats?x=1', 'GET, HEAD'],
    // A method that may carry a body, sent without Content-Type: still 405, not fastify's 400.
    ['QUERY', '/metrics', 'GET, HEAD'],
  ] as const) {
    const r = await app.inject({ method: method as 'GET', url })
    assert.equal(r.statusCode, 405, `${method} ${url}: ${r.body}`)
    assert.equal(r.headers.allow, allow)
    assert.equal(r.json().error, 'Method Not Allowed')
  }
})

test('an unknown path: 404; a declared method still works', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/nothing/here' })
  assert.equal(r.statusCode, 404)
  assert.match(r.json().message, /Route GET:\/v1\/nothing\/here not found/)
  assert.equal((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200)
  const unauthorised = await app.inject({ method: 'POST', url: '/v1/feedback', payload: {} })
  assert.equal(unauthorised.statusCode, 401)
})

test('/login: a token over its maxLength is a 400, a form over 64 KiB a 413, both declared', async () => {
  const form = (token: string) =>
    app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${token}`,
    })
  assert.equal((await form('*'.repeat(4097))).statusCode, 400)
  assert.equal((await form(encodeURIComponent('é'.repeat(4096)))).statusCode, 401)
  assert.equal((await form('x'.repeat(70000))).statusCode, 413)
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  assert.deepEqual(Object.keys(doc.paths['/login'].post.responses), ['303', '400', '401', '413'])
  await app.close()
})
