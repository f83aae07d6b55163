import { campaignJson } from './campaigns.ts'
import { pick, type Rng } from './rng.ts'

// Generators of hostile input. `bad` values must each land in the DLQ; `good` ones are hostile
// but valid (SQL-looking text, emoji, maximal sizes, extra fields) and must be pushed.

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

const base = (r: Rng, now: number) => ({
  restaurant_id: r.uuid(),
  adv_campaign_id: r.uuid(),
  adv_campaign_content: 'ok',
  adv_campaign_datetime_start: now - 60,
  adv_campaign_datetime_end: now + 7200,
  datetime_created: now - 60,
})
type Field = keyof ReturnType<typeof base>
const FIELDS: Field[] = [
  'restaurant_id',
  'adv_campaign_id',
  'adv_campaign_content',
  'adv_campaign_datetime_start',
  'adv_campaign_datetime_end',
  'datetime_created',
]
const withField = (r: Rng, now: number, field: string, v: unknown) => JSON.stringify({ ...base(r, now), [field]: v })
const b = (s: string) => Buffer.from(s)
const below = (r: Rng, n: number) => Math.floor(r.next() * n)

function wrongType(r: Rng, now: number): Buffer {
  const f = pick(r, FIELDS)
  const values = [null, true, 12.5, -1.5, [], {}, '1659203516', [1, 2]].filter(
    v => !(f === 'datetime_created' && v === null) && !(f === 'adv_campaign_content' && typeof v === 'string'),
  )
  return b(withField(r, now, f, pick(r, values)))
}

function invalidUtf8(r: Rng, now: number): Buffer {
  const v = b(withField(r, now, 'adv_campaign_content', 'AB'))
  v[v.indexOf('AB')] = pick(r, [0xff, 0xc0, 0xed, 0x80])
  return v
}

function missingField(r: Rng, now: number): Buffer {
  const o: Record<string, unknown> = base(r, now)
  delete o[
    pick(
      r,
      FIELDS.filter(f => f !== 'datetime_created'),
    )
  ]
  return b(JSON.stringify(o))
}

// One generator per kind of invalid value; none can yield a valid campaign, whatever the draw.
const BAD: Array<[kind: string, make: (r: Rng, now: number) => Buffer | null]> = [
  ['random-bytes', r => Buffer.from(Array.from({ length: 1 + below(r, 300) }, () => below(r, 256)))],
  [
    'truncated',
    (r, now) => {
      const s = campaignJson(r.uuid(), r.uuid(), 'x', now - 60, now + 7200, now)
      return b(s.slice(0, below(r, s.length - 1)))
    },
  ],
  [
    'deep-nesting',
    (r, now) => {
      const d = 1000 + below(r, 20000)
      return b(
        r.next() < 0.5
          ? '['.repeat(d) + ']'.repeat(d)
          : withField(r, now, 'adv_campaign_content', JSON.parse('['.repeat(500) + ']'.repeat(500))),
      )
    },
  ],
  [
    'huge-string',
    (r, now) =>
      b(withField(r, now, 'adv_campaign_content', 'A'.repeat(r.next() < 0.5 ? 4097 + below(r, 10000) : 70000 + below(r, 100000)))),
  ],
  ['wrong-type', wrongType],
  [
    'nan',
    (r, now) =>
      b(
        withField(r, now, 'adv_campaign_datetime_start', 0).replace(
          /"adv_campaign_datetime_start":0/,
          `"adv_campaign_datetime_start":${pick(r, ['NaN', 'Infinity', '-Infinity', 'undefined', '0x10'])}`,
        ),
      ),
  ],
  [
    'negative-ts',
    (r, now) =>
      b(withField(r, now, pick(r, ['adv_campaign_datetime_start', 'adv_campaign_datetime_end', 'datetime_created']), -1 - below(r, 1e9))),
  ],
  [
    'ms-ts',
    (r, now) =>
      b(
        JSON.stringify({ ...base(r, now), adv_campaign_datetime_start: (now - 60) * 1000, adv_campaign_datetime_end: (now + 7200) * 1000 }),
      ),
  ],
  ['bad-uuid', (r, now) => b(withField(r, now, pick(r, ['restaurant_id', 'adv_campaign_id']), pick(r, BAD_UUIDS)))],
  ['sql-in-id', (r, now) => b(withField(r, now, pick(r, ['restaurant_id', 'adv_campaign_id']), pick(r, SQL_TEXTS)))],
  ['emoji-in-id', (r, now) => b(withField(r, now, 'restaurant_id', pick(r, EMOJI).repeat(36)))],
  ['invalid-utf8', invalidUtf8],
  ['empty-or-null', r => (r.next() < 0.5 ? null : Buffer.alloc(0))],
  ['not-object', r => b(pick(r, ['null', '1', '"str"', '[]', 'true', '[{"restaurant_id":1}]']))],
  ['missing-field', missingField],
  [
    'nul-or-order',
    (r, now) =>
      b(
        r.next() < 0.5
          ? withField(r, now, 'adv_campaign_content', 'a\u0000b')
          : JSON.stringify({ ...base(r, now), adv_campaign_datetime_end: now - 120 }),
      ),
  ],
]

/** One invalid value: [kind, bytes]. Never a valid campaign, whatever the random draw. */
export function badValue(r: Rng, now: number): [string, Buffer | null] {
  const [kind, make] = BAD[r.int(BAD.length)]!
  return [kind, make(r, now)]
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
