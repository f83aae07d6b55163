import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka'
import { ErrorCodes, OfferstreamError } from '../../src/errors.ts'
import { translateKafkaError } from '../../src/kafka/kafka-errors.ts'

const econnrefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED', syscall: 'connect' })
// What the client builds when a broker answers an API call with per-partition error codes (apiKey 26 = EndTxn).
const response = (...codes: number[]) => new ResponseError(26, 3, Object.fromEntries(codes.map((c, i) => [`/p${i}`, [c, null]])), {})
const attempts = (...errors: Error[]) => new MultipleErrors(`endTransaction failed ${errors.length} times.`, errors)

function expect(error: unknown, code: string, retryable: boolean) {
  const t = translateKafkaError(error)
  assert.ok(t instanceof OfferstreamError)
  assert.equal(t.code, code, t.message)
  assert.equal(t.retryable, retryable, t.message)
  assert.equal(t.cause, error)
}

test('fencing, by broker error id at any depth: KAFKA_FENCED, retryable', () => {
  expect(new ProtocolError('INVALID_PRODUCER_EPOCH'), ErrorCodes.KAFKA_FENCED, true)
  expect(response(90), ErrorCodes.KAFKA_FENCED, true) // PRODUCER_FENCED
  expect(attempts(new NetworkError('Connection closed'), response(0, 47)), ErrorCodes.KAFKA_FENCED, true)
})

test('refused credentials or permissions: KAFKA_FAILED, fatal', () => {
  expect(new AuthenticationError('SASL authentication failed.'), ErrorCodes.KAFKA_FAILED, false)
  expect(
    new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause: new AuthenticationError('SASL authentication failed.') }),
    ErrorCodes.KAFKA_FAILED,
    false,
  )
  expect(response(53), ErrorCodes.KAFKA_FAILED, false) // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  expect(attempts(response(29)), ErrorCodes.KAFKA_FAILED, false) // TOPIC_AUTHORIZATION_FAILED
})

test('a UserError is fatal at the top, but only ends a retry sequence when nested', () => {
  expect(new UserError('Idempotent producer requires acks to be ALL (-1).'), ErrorCodes.KAFKA_FAILED, false)
  expect(attempts(new UserError('Client closed while retrying joinGroup.')), ErrorCodes.KAFKA_FAILED, true)
})

test('network trouble, timeouts and coordinator or leader moves: KAFKA_UNAVAILABLE, retryable', () => {
  expect(new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause: econnrefused }), ErrorCodes.KAFKA_UNAVAILABLE, true)
  expect(new MultipleErrors('Cannot connect to any broker.', [new NetworkError('Connection closed')]), ErrorCodes.KAFKA_UNAVAILABLE, true)
  expect(new TimeoutError('Request timed out', { canRetry: true }), ErrorCodes.KAFKA_UNAVAILABLE, true)
  expect(response(16), ErrorCodes.KAFKA_UNAVAILABLE, true) // NOT_COORDINATOR
  expect(attempts(response(15), response(6)), ErrorCodes.KAFKA_UNAVAILABLE, true)
})

test('any other broker error: KAFKA_FAILED, retried with rebuilt clients', () => {
  expect(response(48), ErrorCodes.KAFKA_FAILED, true) // INVALID_TXN_STATE
  expect(new ProtocolError('UNKNOWN_PRODUCER_ID'), ErrorCodes.KAFKA_FAILED, true)
})

test('the message text is not what decides', () => {
  expect(new Error('PRODUCER_FENCED SASL authorization timed out: connection closed'), ErrorCodes.KAFKA_FAILED, true)
  expect(new UserError('Cannot find broker with node id 1', { cause: new Error('INVALID_PRODUCER_EPOCH') }), ErrorCodes.KAFKA_FAILED, false)
})

test('an OfferstreamError passes through unchanged', () => {
  const e = new OfferstreamError(ErrorCodes.PG_UNAVAILABLE, 'down', { retryable: true })
  assert.equal(translateKafkaError(e), e)
})
