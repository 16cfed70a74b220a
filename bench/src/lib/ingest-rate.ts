/**
 * The hub's published ingest rate, for benchmarks that load the hub at a
 * share of it (commands at 80 %, soak at 30 %): "stored msgs/s" of
 * bench/results/ingest.json when that run was measured as the scoreboard's
 * figure is (highest lossless rate, ≥ 1,000 devices for ≥ 10 s, dashboards
 * on, no profiler, no extra hub flags, no loss).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface IngestFile {
  options?: { rate?: number | null; dashboards?: number; devices?: number; durationMs?: number; store?: string; hubProfile?: boolean; hubArgs?: string[] };
  loss?: { ackedNotStored?: number };
  rates?: { storedPerSec?: number | null };
}

export function publishedIngestRate(resultsDir: string, wantStore?: 'sqlite'): { storedPerSec: number; store: string; file: string } | undefined {
  const file = join(resultsDir, 'ingest.json');
  if (!existsSync(file)) return undefined;
  let r: IngestFile;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as IngestFile;
  } catch {
    return undefined; // a broken file is no figure
  }
  const o = r.options ?? {};
  const stored = r.rates?.storedPerSec ?? 0;
  if (o.rate != null || o.dashboards === 0 || o.hubProfile || (o.hubArgs ?? []).length > 0) return undefined;
  if ((o.devices ?? 0) < 1000 || (o.durationMs ?? 0) < 10_000 || r.loss?.ackedNotStored !== 0 || !(stored > 0)) return undefined;
  if (wantStore && !(o.store ?? '').startsWith(wantStore)) return undefined;
  return { storedPerSec: stored, store: o.store ?? 'unknown', file: 'bench/results/ingest.json' };
}
