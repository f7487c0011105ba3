import type { UpdateState, UpdateStateInput } from './state';

type StateListener = (state: UpdateState) => void;

/**
 * Current update state plus its listeners. Every change gets the next `seq`.
 * Listeners run synchronously in subscription order. A listener that throws
 * is reported through `onListenerError` and never stops the others.
 */
export class StateStore {
  private current: UpdateState;
  private readonly listeners = new Set<StateListener>();

  constructor(
    initial: UpdateStateInput,
    private readonly onListenerError: (error: unknown) => void = () => undefined,
  ) {
    this.current = { ...initial, seq: 0 } as UpdateState;
  }

  get(): UpdateState {
    return this.current;
  }

  /** Replaces the state, stamps the next sequence number and notifies every listener. */
  set(next: UpdateStateInput): UpdateState {
    this.current = { ...next, seq: this.current.seq + 1 } as UpdateState;
    for (const listener of [...this.listeners]) {
      try {
        listener(this.current);
      } catch (error) {
        this.onListenerError(error);
      }
    }
    return this.current;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
