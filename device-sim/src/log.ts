/** The logging the simulator needs; `console` and pino loggers both fit. */
export interface SimLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: SimLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
