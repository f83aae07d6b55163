import type { OfferstreamError } from '../errors.ts'
import type { Logger } from './logger.ts'
import { Loop, type LoopOptions, type Stoppable } from './loop.ts'
import { OffsetCommits } from './offset-commits.ts'
import type { Clock, Input } from './ports.ts'

export interface InputLoopOptions extends Pick<LoopOptions, 'component' | 'metrics' | 'retryMaxDelayMs' | 'retryMessage'> {
  clock: Clock
  log: Logger
  commitIntervalMs: number
  createInput: () => Promise<Input>
  /** One batch: take from the input, store, and tell `commits` what was stored. */
  step: (input: Input, commits: OffsetCommits) => Promise<void>
  /** Whether a failure drops the consumer; the next step builds a new one, which resumes from the committed offsets. */
  dropsInput: (error: OfferstreamError) => boolean
  /** Called when the consumer is dropped: records taken but not stored come again from the committed offsets. */
  onDrop?: () => void
}

/**
 * What the ingest stage and the feedback intake share: a Loop over a Kafka input built on first
 * use, whose offsets are committed on the ingest interval (OffsetCommits), flushed and closed when
 * the input is dropped or the loop ends. stop() lets the batch in flight finish and cuts a pending take short.
 */
export class InputLoop implements Stoppable {
  #o: InputLoopOptions
  #input: Input | undefined
  #commits: OffsetCommits
  #loop: Loop

  constructor(o: InputLoopOptions) {
    this.#o = o
    this.#commits = new OffsetCommits(o.clock, o.log, o.commitIntervalMs)
    this.#loop = new Loop({
      component: o.component,
      step: async () => {
        this.#input ??= await o.createInput()
        await o.step(this.#input, this.#commits)
        return undefined
      },
      clock: o.clock,
      log: o.log,
      metrics: o.metrics,
      retryMaxDelayMs: o.retryMaxDelayMs,
      retryMessage: o.retryMessage,
      onRetry: async e => {
        if (o.dropsInput(e)) await this.#dropInput()
      },
      finish: () => this.#dropInput(),
    })
  }

  /** Message of the last failed step, cleared by the next successful one; read by /healthz. */
  get lastError(): string | undefined {
    return this.#loop.lastError
  }

  /** Runs until stopped; rejects on a non-retryable failure. */
  run(): Promise<void> {
    return this.#loop.run()
  }

  /** Finishes the batch in progress, then stops and closes the input; the uncommitted input is redelivered later. */
  async stop(): Promise<void> {
    const stopped = this.#loop.stop()
    this.#input?.interrupt()
    await stopped
  }

  async #dropInput(): Promise<void> {
    const input = this.#input
    this.#input = undefined
    this.#o.onDrop?.()
    await this.#commits.flush(input)
    await input?.close()
  }
}
