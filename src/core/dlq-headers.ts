import type { Rejection } from './reject-reason.ts'

export interface SourcePosition {
  topic: string
  partition: number
  offset: string
}

// Headers on a dead-letter record. The value and key stay the original bytes; everything the
// operator needs to find and judge the record travels here.
export function dlqHeaders(rejection: Rejection, source: SourcePosition): Map<string, string> {
  return new Map([
    ['offerstream.error.code', rejection.code],
    ['offerstream.error.reason', rejection.reason],
    ['offerstream.source.topic', source.topic],
    ['offerstream.source.partition', String(source.partition)],
    ['offerstream.source.offset', source.offset],
  ])
}
