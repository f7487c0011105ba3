import { EventEmitter } from 'node:events';
import { CheckScheduler, type CheckReason, type CheckSchedulerOptions } from '../../main/scheduler';
import { UpdateError } from '../../main/updater/errors';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type CheckBehaviour = (signal: AbortSignal) => Promise<string>;

interface RecordedCheck {
  reason: CheckReason;
  /** Monotonic time at the start of the check. */
  at: number;
}

function createHarness(overrides: Partial<CheckSchedulerOptions<string>> = {}) {
  const power = new EventEmitter();
  const checks: RecordedCheck[] = [];
  const behaviours: CheckBehaviour[] = [];
  const scheduler = new CheckScheduler<string>({
    runCheck: (signal, reason) => {
      checks.push({ reason, at: performance.now() });
      const behaviour = behaviours.shift() ?? (() => Promise.resolve('ok'));
      return behaviour(signal);
    },
    powerMonitor: power,
    ...overrides,
  });
  return { scheduler, power, checks, behaviours };
}

/** A check whose request stays open and never responds, whatever the signal does. */
const hangingCheck: CheckBehaviour = () => new Promise<string>(() => undefined);

const networkFailure: CheckBehaviour = () =>
  Promise.reject(new UpdateError('NETWORK', 'getaddrinfo ENOTFOUND feed.example'));

/** Simulates sleep: the wall clock moves on while timers and monotonic time stand still. */
function sleepFor(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('CheckScheduler', () => {
  let stopScheduler: (() => void) | null = null;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-03-01T09:00:00Z'));
  });

  afterEach(() => {
    stopScheduler?.();
    stopScheduler = null;
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });

  function start(overrides: Partial<CheckSchedulerOptions<string>> = {}) {
    const harness = createHarness(overrides);
    harness.scheduler.start();
    stopScheduler = () => harness.scheduler.stop();
    return harness;
  }

  it('checks after the delay, then per interval', async () => {
    const { checks } = start({ initialDelayMs: 10 * SECOND, intervalMs: 4 * HOUR });

    await advance(10 * SECOND - 1);
    expect(checks).toHaveLength(0);
    await advance(1);
    expect(checks.map((check) => check.reason)).toEqual(['startup']);

    await advance(4 * HOUR);
    expect(checks.map((check) => check.reason)).toEqual(['startup', 'interval']);
    await advance(4 * HOUR);
    expect(checks).toHaveLength(3);
  });

  it('runs nothing automatically when disabled', async () => {
    const { scheduler, checks, power } = start({ enabled: false });

    await advance(2 * DAY);
    expect(checks).toHaveLength(0);
    expect(power.listenerCount('resume')).toBe(0);

    await expect(scheduler.checkNow('manual')).resolves.toBe('ok');
    expect(checks.map((check) => check.reason)).toEqual(['manual']);
  });

  it('shares one promise among concurrent triggers', async () => {
    const { scheduler, checks, behaviours } = start({ initialDelayMs: HOUR });
    let finish: (value: string) => void = () => undefined;
    behaviours.push(() => new Promise<string>((resolve) => (finish = resolve)));

    const first = scheduler.checkNow('manual');
    const second = scheduler.checkNow('manual');
    expect(second).toBe(first);
    expect(scheduler.isChecking).toBe(true);

    await advance(0);
    finish('2.1.0');
    await expect(first).resolves.toBe('2.1.0');
    expect(checks).toHaveLength(1);
    expect(scheduler.isChecking).toBe(false);
  });

  it('aborts a hanging check on suspend', async () => {
    const { scheduler, checks, behaviours, power } = start({ initialDelayMs: 10 * SECOND, resumeDelayMs: 15 * SECOND });
    let signalSeen: AbortSignal | null = null;
    behaviours.push((signal) => {
      signalSeen = signal;
      return hangingCheck(signal);
    });
    await advance(10 * SECOND);
    expect(scheduler.isChecking).toBe(true);

    power.emit('suspend');
    await advance(0);
    expect(scheduler.isChecking).toBe(false);
    expect(signalSeen!.aborted).toBe(true);

    sleepFor(8 * HOUR);
    power.emit('resume');
    await advance(15 * SECOND - 1);
    expect(checks).toHaveLength(1);
    await advance(1);
    expect(checks.map((check) => check.reason)).toEqual(['startup', 'resume']);
  });

  it('aborts a hanging check after its timeout', async () => {
    const { scheduler, checks, behaviours } = start({
      initialDelayMs: 10 * SECOND,
      checkTimeoutMs: 30 * SECOND,
      retryDelaysMs: [20 * SECOND],
    });
    behaviours.push(hangingCheck);
    await advance(10 * SECOND);
    expect(scheduler.isChecking).toBe(true);

    await advance(30 * SECOND);
    expect(scheduler.isChecking).toBe(false);
    await advance(20 * SECOND);
    expect(checks.map((check) => check.reason)).toEqual(['startup', 'retry']);
  });

  it('retries once after resume network error', async () => {
    const { checks, behaviours, power } = start({
      initialDelayMs: 10 * SECOND,
      intervalMs: 4 * HOUR,
      resumeDelayMs: 15 * SECOND,
      retryDelaysMs: [30 * SECOND, 2 * MINUTE],
    });
    behaviours.push(hangingCheck, networkFailure);
    await advance(10 * SECOND);
    power.emit('suspend');
    sleepFor(8 * HOUR);
    power.emit('resume');

    await advance(15 * SECOND);
    expect(checks.map((check) => check.reason)).toEqual(['startup', 'resume']);
    await advance(30 * SECOND);
    expect(checks.map((check) => check.reason)).toEqual(['startup', 'resume', 'retry']);

    // The retry succeeded, so the interval schedule continues.
    await advance(4 * HOUR);
    expect(checks.map((check) => check.reason)).toEqual(['startup', 'resume', 'retry', 'interval']);
  });

  it('backs off after repeated failures', async () => {
    const { checks, behaviours } = start({
      initialDelayMs: 10 * SECOND,
      intervalMs: 4 * HOUR,
      retryDelaysMs: [30 * SECOND, 2 * MINUTE, 10 * MINUTE],
    });
    behaviours.push(networkFailure, networkFailure, networkFailure, networkFailure);
    await advance(10 * SECOND);

    const startedAt = checks[0]!.at;
    await advance(30 * SECOND + 2 * MINUTE + 10 * MINUTE + 10 * MINUTE);
    const offsets = checks.map((check) => check.at - startedAt);
    expect(offsets).toEqual([0, 30 * SECOND, 150 * SECOND, 750 * SECOND, 1350 * SECOND]);

    await advance(4 * HOUR);
    expect(checks.at(-1)!.reason).toBe('interval');
  });

  it('treats a future last check as due', async () => {
    const { checks } = start({ initialDelayMs: 10 * SECOND, lastCheckAt: Date.now() + 3 * DAY });

    await advance(10 * SECOND);
    expect(checks.map((check) => check.reason)).toEqual(['startup']);
  });

  it('waits for the interval after a recent check', async () => {
    const { checks } = start({
      initialDelayMs: 10 * SECOND,
      intervalMs: 4 * HOUR,
      pollMs: 5 * MINUTE,
      lastCheckAt: Date.now() - HOUR,
    });

    await advance(3 * HOUR - MINUTE);
    expect(checks).toHaveLength(0);
    await advance(2 * MINUTE);
    expect(checks.map((check) => check.reason)).toEqual(['interval']);
  });

  it('keeps checking after the clock goes back', async () => {
    const { checks } = start({ initialDelayMs: 10 * SECOND, intervalMs: HOUR, minGapMs: 30 * MINUTE });
    await advance(10 * SECOND);
    expect(checks).toHaveLength(1);

    vi.setSystemTime(Date.now() - 3 * DAY);
    await advance(2 * HOUR);
    // The last check now lies in the future, so one runs once the minimum gap has
    // passed; the interval then counts from that check.
    const offsets = checks.map((check) => check.at - checks[0]!.at);
    expect(offsets).toEqual([0, 30 * MINUTE, 90 * MINUTE]);
  });

  it('limits checks after forward clock jumps', async () => {
    const minGap = 30 * MINUTE;
    const { checks } = start({ initialDelayMs: 10 * SECOND, intervalMs: 4 * HOUR, minGapMs: minGap, pollMs: MINUTE });
    await advance(10 * SECOND);

    await advance(10 * MINUTE);
    vi.setSystemTime(Date.now() + 30 * DAY);
    await advance(30 * SECOND);
    vi.setSystemTime(Date.now() + 30 * DAY);
    await advance(2 * HOUR);

    expect(checks).toHaveLength(2);
    const gaps = checks.slice(1).map((check, index) => check.at - checks[index]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(minGap);
  });

  it('checks once after a week asleep', async () => {
    const { checks, power } = start({ initialDelayMs: 10 * SECOND, intervalMs: DAY, resumeDelayMs: 15 * SECOND });
    await advance(HOUR);
    expect(checks).toHaveLength(1);

    power.emit('suspend');
    sleepFor(7 * DAY);
    power.emit('resume');
    await advance(HOUR);

    expect(checks.map((check) => check.reason)).toEqual(['startup', 'resume']);
  });

  it('skips the resume check when none is due', async () => {
    const { checks, power } = start({ initialDelayMs: 10 * SECOND, intervalMs: DAY });
    await advance(HOUR);

    power.emit('suspend');
    sleepFor(20 * MINUTE);
    power.emit('resume');
    await advance(HOUR);

    expect(checks.map((check) => check.reason)).toEqual(['startup']);
  });

  it('removes timers and listeners on stop', async () => {
    const { scheduler, power, behaviours } = createHarness({ initialDelayMs: 10 * SECOND });
    behaviours.push(hangingCheck);
    scheduler.start();
    await advance(10 * SECOND);
    const running = scheduler.checkNow('manual');

    scheduler.stop();
    await expect(running).rejects.toThrow('stopped');
    expect(power.listenerCount('suspend')).toBe(0);
    expect(power.listenerCount('resume')).toBe(0);
  });
});
