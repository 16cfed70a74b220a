/**
 * A peer is another program measured beside the hub in the same run, with
 * the same load generator and payload, so that the noise of a shared
 * machine cancels out in the ratio (issue 8). Each peer runs as its own
 * process, so its CPU and memory come from /proc like the hub's.
 */
export interface PeerProcess {
  /** Short name for tables and JSON, e.g. "bare aedes", "mosquitto (tuned)". */
  name: string;
  /** The process to sample for CPU and RSS. */
  pid: number;
  /** Where clients connect: mqtt://127.0.0.1:PORT or ws://127.0.0.1:PORT/. */
  url: string;
  /** Ends the process (SIGTERM, then SIGKILL) and removes its temp files. */
  stop(): Promise<void>;
}
