/** Small text helpers for benchmark reports. */

export function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ms = (n: number | undefined): string => (n === undefined ? '-' : `${n.toFixed(1)} ms`);
export const pct = (n: number): string => `${n.toFixed(0)} %`;
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
