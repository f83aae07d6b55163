import { randomUUID } from 'node:crypto'

// A campaign workload and the (campaign, client) pairs it must produce, computed here from the
// inputs alone (not from anything the service wrote), so the verification is independent.

export interface Workload {
  subscribers: Array<[clientId: string, restaurantId: string]>
  /** Input values in production order. */
  values: string[]
  /** `${campaignId}/${clientId}` for every pair that must be pushed exactly once. */
  expected: Set<string>
}

export interface WorkloadOptions {
  /** Pairs wanted, roughly: campaigns are sized to reach it. */
  pushes: number
  subscribersPerRestaurant?: number
  restaurants?: number
  nowSeconds?: number
  /** Extra campaigns that must push nothing (ended, ending inside the margin, window too short). */
  inactive?: number
  /** Re-send this many campaigns verbatim: duplicates must not double anything. */
  resends?: number
  /** Campaigns that arrive before their start (pending) and start `earlyBySeconds` after `nowSeconds`: pushed once due. */
  early?: number
  earlyBySeconds?: number
  marginSeconds?: number
  /** Shuffle with this generator instead of Math.random (seeded runs). */
  random?: () => number
}

export function campaignJson(
  restaurantId: string,
  campaignId: string,
  content: string,
  start: number,
  end: number,
  created: number,
): string {
  return JSON.stringify({
    restaurant_id: restaurantId,
    adv_campaign_id: campaignId,
    adv_campaign_content: content,
    adv_campaign_owner: 'Ivanov Ivan Ivanovich',
    adv_campaign_owner_contact: 'iiivanov@restaurant.ru',
    adv_campaign_datetime_start: start,
    adv_campaign_datetime_end: end,
    datetime_created: created,
  })
}

/** The activity rule restated for the oracle: start <= now <= end - margin. */
function mustPush(start: number, end: number, now: number, margin: number): boolean {
  return start <= now && now <= end - margin && start <= end - margin
}

export function buildWorkload(o: WorkloadOptions): Workload {
  const per = o.subscribersPerRestaurant ?? 2000
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000)
  const margin = o.marginSeconds ?? 600
  const campaigns = Math.max(1, Math.ceil(o.pushes / per))
  const restaurantCount = o.restaurants ?? Math.max(1, Math.min(campaigns, 10))
  const restaurants = Array.from({ length: restaurantCount }, () => randomUUID())
  const byRestaurant = new Map<string, string[]>()
  const subscribers: Workload['subscribers'] = []
  for (const r of restaurants) {
    const clients = Array.from({ length: per }, () => randomUUID())
    byRestaurant.set(r, clients)
    for (const c of clients) subscribers.push([c, r])
  }
  const values: string[] = []
  const expected = new Set<string>()
  // `due`: when the service applies the rule; later than now for a campaign that is pending on arrival.
  const add = (r: string, start: number, end: number, content: string, due = now) => {
    const id = randomUUID()
    values.push(campaignJson(r, id, content, start, end, now - 30))
    if (mustPush(start, end, due, margin)) for (const c of byRestaurant.get(r)!) expected.add(`${id}/${c}`)
  }
  for (let i = 0; i < campaigns; i++) add(restaurants[i % restaurantCount]!, now - 60, now + 7200, `campaign ${i}`)
  // Inactive ones: ended, ends inside the margin, starts in two days (pending the whole run).
  for (let i = 0; i < (o.inactive ?? 3); i++) {
    const r = restaurants[i % restaurantCount]!
    const [s, e] = [
      [now - 7200, now - 60],
      [now - 60, now + margin - 30],
      [now + 172800, now + 180000],
    ][i % 3]!
    add(r, s!, e!, `inactive ${i}`)
  }
  for (let i = 0; i < (o.early ?? 0); i++) {
    const start = now + (o.earlyBySeconds ?? 30)
    add(restaurants[i % restaurantCount]!, start, now + 7200, `early ${i}`, start)
  }
  for (let i = 0; i < (o.resends ?? 2) && i < campaigns; i++) values.push(values[(i * 3) % campaigns]!)
  shuffle(values, o.random)
  return { subscribers, values, expected }
}

export function shuffle<T>(a: T[], random: () => number = Math.random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}
