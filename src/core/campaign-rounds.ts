// A campaign's restaurant is fixed by the first record of it ever stored; a later one naming another
// restaurant goes to the DLQ. The store decides that per campaign in one statement, which needs
// each campaign id to name one restaurant within it. So a batch where one does not is cut into
// consecutive rounds, stored in order: the first record still decides, whichever round it is in.

interface Named {
  campaignId: string
  restaurantId: string
}

/** Cuts items (in input order) into consecutive runs in which each campaign id names one restaurant. */
export function restaurantRounds<T>(items: readonly T[], named: (item: T) => Named): T[][] {
  const rounds: T[][] = []
  let current: T[] = []
  let owners = new Map<string, string>()
  for (const item of items) {
    const { campaignId, restaurantId } = named(item)
    const owner = owners.get(campaignId)
    if (owner !== undefined && owner !== restaurantId) {
      rounds.push(current)
      current = []
      owners = new Map()
    }
    owners.set(campaignId, restaurantId)
    current.push(item)
  }
  if (current.length > 0) rounds.push(current)
  return rounds
}
