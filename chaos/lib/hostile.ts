import { randomUUID } from 'node:crypto'
import { campaignJson } from './workload.ts'

// Generators of hostile input. `bad` values must each land in the DLQ; `good` ones are hostile
// but valid (SQL-looking text, emoji, maximal sizes, extra fields) and must be pushed.

export type Rng = () => number

/** mulberry32: a seeded generator so a failing fuzz run can be replayed with --seed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SQL_TEXTS = [
  "'); DROP TABLE subscribers_feedback; --",
  "1' OR '1'='1",
  "Robert'); delete from offerstream_events where ('1'='1",
  '$1::uuid; truncate subscribers_restaurants; select pg_sleep(10)',
  "\\x00\\\\ E'\\\\' COPY x FROM PROGRAM 'rm -rf /'",
]
const EMOJI = ['🍕', '🎉', '👨‍👩‍👧‍👦', '🇷🇺', 'é', 'ñ', '中文', 'עברית', '\u202e']
const BAD_UUIDS = [
  '',
  'not-a-uuid',
  '123e4567-e89b-12d3-a456-42661417400',
  '123e4567e89b12d3a456426614174000',
  '{123e4567-e89b-12d3-a456-426614174000}',
  'zzze4567-e89b-12d3-a456-426614174000',
  "'; drop table x; --",
  '🍕🍕🍕🍕🍕🍕🍕🍕-e89b-12d3-a456-426614174000',
  '123e4567-e89b-12d3-a456-4266141740000',
]

const pick = <T>(r: Rng, a: readonly T[]): T => a[Math.floor(r() * a.length)]!
const base = (now: number) => ({
  restaurant_id: randomUUID(),
  adv_campaign_id: randomUUID(),
  adv_campaign_content: 'ok',
  adv_campaign_datetime_start: now - 60,
  adv_campaign_datetime_end: now + 7200,
  datetime_created: now - 60,
})
const fieldNames = Object.keys(base(0)) as Array<keyof ReturnType<typeof base>>
const withField = (now: number, field: string, v: unknown) => JSON.stringify({ ...base(now), [field]: v })

/** One invalid value: [kind, bytes]. Never a valid campaign, whatever the random draw. */
export function badValue(r: Rng, now: number): [string, Buffer | null] {
  const k = Math.floor(r() * 16)
  const b = (s: string) => Buffer.from(s)
  switch (k) {
    case 0:
      return ['random-bytes', Buffer.from(Array.from({ length: 1 + Math.floor(r() * 300) }, () => Math.floor(r() * 256)))]
    case 1: {
      const s = campaignJson(randomUUID(), randomUUID(), 'x', now - 60, now + 7200, now)
      return ['truncated', b(s.slice(0, Math.floor(r() * (s.length - 1))))]
    }
    case 2: {
      const d = 1000 + Math.floor(r() * 20000)
      return [
        'deep-nesting',
        b(
          r() < 0.5 ? '['.repeat(d) + ']'.repeat(d) : withField(now, 'adv_campaign_content', JSON.parse('['.repeat(500) + ']'.repeat(500))),
        ),
      ]
    }
    case 3:
      return [
        'huge-string',
        b(
          withField(now, 'adv_campaign_content', 'A'.repeat(r() < 0.5 ? 4097 + Math.floor(r() * 10000) : 70000 + Math.floor(r() * 100000))),
        ),
      ]
    case 4: {
      const f = pick(r, fieldNames)
      return [
        'wrong-type',
        b(
          withField(
            now,
            f,
            pick(
              r,
              [null, true, 12.5, -1.5, [], {}, '1659203516', [1, 2]].filter(
                v => !(f === 'datetime_created' && v === null) && !(f === 'adv_campaign_content' && typeof v === 'string'),
              ),
            ),
          ),
        ),
      ]
    }
    case 5:
      return [
        'nan',
        b(
          withField(now, 'adv_campaign_datetime_start', 0).replace(
            /"adv_campaign_datetime_start":0/,
            `"adv_campaign_datetime_start":${pick(r, ['NaN', 'Infinity', '-Infinity', 'undefined', '0x10'])}`,
          ),
        ),
      ]
    case 6:
      return [
        'negative-ts',
        b(
          withField(
            now,
            pick(r, ['adv_campaign_datetime_start', 'adv_campaign_datetime_end', 'datetime_created']),
            -1 - Math.floor(r() * 1e9),
          ),
        ),
      ]
    case 7:
      return [
        'ms-ts',
        b(JSON.stringify({ ...base(now), adv_campaign_datetime_start: (now - 60) * 1000, adv_campaign_datetime_end: (now + 7200) * 1000 })),
      ]
    case 8:
      return ['bad-uuid', b(withField(now, pick(r, ['restaurant_id', 'adv_campaign_id']), pick(r, BAD_UUIDS)))]
    case 9:
      return ['sql-in-id', b(withField(now, pick(r, ['restaurant_id', 'adv_campaign_id']), pick(r, SQL_TEXTS)))]
    case 10:
      return ['emoji-in-id', b(withField(now, 'restaurant_id', pick(r, EMOJI).repeat(36)))]
    case 11: {
      const v = b(withField(now, 'adv_campaign_content', 'AB'))
      const at = v.indexOf('AB')
      v[at] = pick(r, [0xff, 0xc0, 0xed, 0x80])
      return ['invalid-utf8', v]
    }
    case 12:
      return ['empty-or-null', r() < 0.5 ? null : Buffer.alloc(0)]
    case 13:
      return ['not-object', b(pick(r, ['null', '1', '"str"', '[]', 'true', '[{"restaurant_id":1}]']))]
    case 14: {
      const o: Record<string, unknown> = base(now)
      delete o[
        pick(
          r,
          fieldNames.filter(f => f !== 'datetime_created'),
        )
      ]
      return ['missing-field', b(JSON.stringify(o))]
    }
    default:
      return [
        'nul-or-order',
        b(
          r() < 0.5
            ? withField(now, 'adv_campaign_content', 'a\u0000b')
            : JSON.stringify({ ...base(now), adv_campaign_datetime_end: now - 120 }),
        ),
      ]
  }
}

/** Hostile but valid content for a good campaign. */
export function goodContent(r: Rng, i: number): string {
  switch (i % 5) {
    case 0:
      return SQL_TEXTS[Math.floor(i / 5) % SQL_TEXTS.length]!
    case 1:
      return Array.from({ length: 20 }, () => pick(r, EMOJI)).join('')
    case 2:
      return 'Q"\\\'`'.repeat(800).slice(0, 4096)
    case 3:
      return 'line1\nline2\t\r\u2028\u2029 end'
    default:
      return `campaign ${i} ${pick(r, SQL_TEXTS)} ${pick(r, EMOJI)}`
  }
}
