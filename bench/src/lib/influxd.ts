/**
 * A throwaway influxd (Debian package `influxdb`) for a benchmark: engines'
 * starter, shared with the tests and `npm run cluster`.
 */
import { startInfluxd as startEngine, type Influxd } from '@iot-hub/engines';
import { mkdirSync } from 'node:fs';

export { INFLUXD, type InfluxQueryResponse } from '@iot-hub/engines';
export type BenchInfluxd = Influxd & { pid: number };

/** Starts influxd with its dirs under `dir`; resolves once GET /ping answers 204. */
export async function startInfluxd(dir: string): Promise<BenchInfluxd> {
  mkdirSync(dir, { recursive: true });
  return (await startEngine({ dir })) as BenchInfluxd;
}
