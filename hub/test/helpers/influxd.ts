/**
 * A real influxd (Debian package `influxdb`) for a test: engines' starter
 * (free ports, temp dirs, reporting off), stopped at teardown. kill()/
 * restart() let outage tests take it away and bring it back on the same port
 * and data.
 *
 * A missing binary skips the test loudly locally and fails it under CI=true
 * (docs/design.md, testing principles).
 */
import { engineForTest, startInfluxd as startEngine, type Influxd, type InfluxdOptions } from '@iot-hub/engines';

export { INFLUXD, type Influxd, type InfluxdOptions, type InfluxQueryResponse } from '@iot-hub/engines';

interface TapLike {
  teardown(fn: () => unknown): void;
  /** plan(0, reason) marks the test as skipped with the reason. */
  plan(n: number, comment?: string): void;
  fail(message: string): void;
}

/** null when the binary is missing: the test was skipped (or failed under CI). */
export function startInfluxd(t: TapLike, options: InfluxdOptions = {}): Promise<Influxd | null> {
  return engineForTest(t, () => startEngine(options));
}
