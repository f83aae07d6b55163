import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { test } from 'node:test'
import pg from 'pg'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { translatePgError } from '../../src/pg/pg-errors.ts'

function serverError(code: string, message: string): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error')
  e.code = code
  return e
}

function expect(error: unknown, code: string, retryable: boolean) {
  const t = translatePgError(error)
  assert.ok(t instanceof OfferstreamError)
  assert.equal(t.code, code, t.message)
  assert.equal(t.retryable, retryable, t.message)
  assert.equal(t.cause, error)
}

/** A local TCP server that treats every connection with `onSocket`; closed after fn. */
async function withServer(onSocket: (s: import('node:net').Socket) => void, fn: (port: number) => Promise<void>) {
  const server: Server = createServer(onSocket)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  try {
    await fn(port)
  } finally {
    server.close()
  }
}

const connect = (port: number, extra: pg.ClientConfig = {}) =>
  new pg.Client({ host: '127.0.0.1', port, user: 'x', database: 'x', ...extra }).connect().then(
    () => assert.fail('connected'),
    (error: unknown) => error,
  )

test('server errors by SQLSTATE class: 08/53/57/58 unavailable, 40 conflict, both retryable', () => {
  expect(serverError('57P01', 'terminating connection due to administrator command'), ErrorCodes.PG_UNAVAILABLE, true)
  expect(serverError('57P03', 'the database system is starting up'), ErrorCodes.PG_UNAVAILABLE, true)
  expect(serverError('53300', 'sorry, too many clients already'), ErrorCodes.PG_UNAVAILABLE, true)
  expect(serverError('08006', 'connection failure'), ErrorCodes.PG_UNAVAILABLE, true)
  expect(serverError('40001', 'could not serialize access'), ErrorCodes.PG_CONFLICT, true)
  expect(serverError('40P01', 'deadlock detected'), ErrorCodes.PG_CONFLICT, true)
})

test('a session the server ended for idling in a transaction is unavailable and retryable; the rest of class 25 is not', () => {
  expect(serverError('25P03', 'terminating connection due to idle-in-transaction timeout'), ErrorCodes.PG_UNAVAILABLE, true)
  expect(serverError('25P04', 'terminating connection due to transaction timeout'), ErrorCodes.PG_UNAVAILABLE, true)
  expect(serverError('25001', 'there is already a transaction in progress'), ErrorCodes.PG_FAILED, false)
})

test('other server errors are fatal: authentication, missing relation, constraint', () => {
  expect(serverError('28P01', 'password authentication failed for user "x"'), ErrorCodes.PG_FAILED, false)
  expect(serverError('42P01', 'relation "offerstream_events" does not exist'), ErrorCodes.PG_FAILED, false)
  expect(serverError('23505', 'duplicate key value violates unique constraint'), ErrorCodes.PG_FAILED, false)
})

test('a refused connection (errno) is unavailable', async () => {
  let port = 0
  await withServer(
    () => {},
    async p => {
      port = p
    },
  )
  const error = await connect(port)
  assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED')
  expect(error, ErrorCodes.PG_UNAVAILABLE, true)
})

test('pg’s uncoded "Connection terminated unexpectedly" is unavailable', async () => {
  await withServer(
    socket => socket.destroy(),
    async port => {
      const error = await connect(port)
      assert.equal((error as Error).message, 'Connection terminated unexpectedly')
      expect(error, ErrorCodes.PG_UNAVAILABLE, true)
    },
  )
})

test('pg-pool’s connection timeout is unavailable', async () => {
  const sockets: import('node:net').Socket[] = []
  await withServer(
    socket => void sockets.push(socket),
    async port => {
      const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'x', database: 'x', connectionTimeoutMillis: 20 })
      const error = await pool.connect().then(
        () => assert.fail('connected'),
        (e: unknown) => e,
      )
      await pool.end()
      for (const s of sockets) s.destroy()
      expect(error, ErrorCodes.PG_UNAVAILABLE, true)
    },
  )
})

test('the same words from anything but a plain uncoded Error are not taken for a lost connection', () => {
  expect(new TypeError('Connection terminated'), ErrorCodes.PG_FAILED, false)
  expect(Object.assign(new Error('Connection terminated'), { code: 'XX000' }), ErrorCodes.PG_FAILED, false)
  expect(new Error('Connection terminated, more or less'), ErrorCodes.PG_FAILED, false)
})

test('an OfferstreamError passes through unchanged', () => {
  const e = new OfferstreamError(ErrorCodes.KAFKA_FENCED, 'fenced', { retryable: true })
  assert.equal(translatePgError(e), e)
})
