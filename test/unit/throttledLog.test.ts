// Warnings a flood can cause: the first of a kind at once, then one line per kind and window with a count.
import assert from 'node:assert/strict';
import { ThrottledLog, type Schedule } from '../../src/mcp/gateway/throttledLog';
import { RecordingLogger } from './support/coreHarness';

/** A schedule the test runs by hand: `fire()` ends the current window. */
class ManualSchedule {
  private pending: (() => void) | undefined;
  readonly delays: number[] = [];
  readonly schedule: Schedule = (callback, ms) => {
    assert.equal(this.pending, undefined, 'one window at a time');
    this.pending = callback;
    this.delays.push(ms);
    return () => (this.pending = undefined);
  };
  get armed(): boolean {
    return this.pending !== undefined;
  }
  fire(): void {
    const callback = this.pending!;
    this.pending = undefined;
    callback();
  }
}

describe('throttled log', () => {
  let logger: RecordingLogger;
  let timer: ManualSchedule;
  let log: ThrottledLog;
  beforeEach(() => {
    logger = new RecordingLogger();
    timer = new ManualSchedule();
    log = new ThrottledLog(logger, 10_000, timer.schedule);
  });
  const lines = () => logger.lines.map((line) => line.trimEnd());

  it('logs the first warning of each kind at once and counts the rest until the window ends', () => {
    for (let i = 0; i < 1000; i++) log.warn('refused a POST request: a wrong key');
    log.warn('refused a GET request: a foreign Host header');
    log.warn('refused a GET request: a foreign Host header');
    assert.deepEqual(lines(), [
      'warn refused a POST request: a wrong key',
      'warn refused a GET request: a foreign Host header',
    ]);
    assert.deepEqual(timer.delays, [10_000]);
    timer.fire();
    assert.deepEqual(lines().slice(2), [
      'warn refused a POST request: a wrong key (999 more within 10 s)',
      'warn refused a GET request: a foreign Host header (1 more within 10 s)',
    ]);
  });

  it('under a steady flood logs one line per kind and window; after a quiet window, the next is logged at once', () => {
    log.warn('flood');
    for (let window = 0; window < 3; window++) {
      for (let i = 0; i < 50; i++) log.warn('flood');
      timer.fire();
    }
    assert.deepEqual(lines(), [
      'warn flood',
      'warn flood (50 more within 10 s)',
      'warn flood (50 more within 10 s)',
      'warn flood (50 more within 10 s)',
    ]);
    assert.ok(timer.armed, 'the window goes on while the flood does');
    timer.fire(); // a quiet window ends it
    assert.equal(timer.armed, false);
    assert.equal(logger.lines.length, 4);
    log.warn('flood');
    assert.equal(lines().at(-1), 'warn flood');
  });

  it('flush() says what was counted and ends the window (the gateway closing)', () => {
    log.warn('flood');
    log.warn('flood');
    log.flush();
    assert.deepEqual(lines(), ['warn flood', 'warn flood (1 more within 10 s)']);
    assert.equal(timer.armed, false);
    log.flush();
    assert.equal(logger.lines.length, 2, 'nothing twice');
  });
});
