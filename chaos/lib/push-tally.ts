import { Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import type { Config } from '../../src/config/settings.ts'

/**
 * A live read_committed consumer of push_message that records each (campaign, client) pair in a
 * per-campaign bitmap: constant memory per campaign however long the soak, duplicates counted.
 */
export class PushTally {
  received = 0
  duplicates = 0
  unexpected = 0
  #bits = new Map<string, { restaurant: string; bits: Uint8Array }>()
  #clientIndex: Map<string, { restaurant: string; i: number }>
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer>
  #close: (() => Promise<void>) | undefined

  constructor(config: Config, clientIndex: Map<string, { restaurant: string; i: number }>) {
    this.#clientIndex = clientIndex
    this.#consumer = new Consumer({ clientId: 'soak-tally', groupId: `soak-tally-${Date.now()}`, bootstrapBrokers: config.kafkaBrokers })
    void this.#start(config.outputTopic)
  }

  /** Pairs of this campaign become expected: the restaurant's `size` clients, indexed by clientIndex. */
  expect(campaignId: string, restaurant: string, size: number): void {
    this.#bits.set(campaignId, { restaurant, bits: new Uint8Array(Math.ceil(size / 8)) })
  }

  async #start(topic: string): Promise<void> {
    const stream = await this.#consumer.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 200,
    })
    this.#close = () => stream.close()
    stream.on('data', m => {
      const v = JSON.parse(m.value!.toString()) as { adv_campaign_id: string; client_id: string }
      const campaign = this.#bits.get(v.adv_campaign_id)
      const client = this.#clientIndex.get(v.client_id)
      if (!campaign || !client || client.restaurant !== campaign.restaurant) {
        this.unexpected++
        return
      }
      const { bits } = campaign
      const i = client.i
      const mask = 1 << (i % 8)
      if (bits[i >> 3]! & mask) this.duplicates++
      else {
        bits[i >> 3]! |= mask
        this.received++
      }
    })
  }

  async close(): Promise<void> {
    await this.#close?.().catch(() => {})
    await this.#consumer.close(true).catch(() => {})
  }
}
