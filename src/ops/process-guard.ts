/**
 * The process-wide last resort for errors nothing else caught. One stray exception (a library
 * callback that throws on odd input, say) must not take every conversation down with it: it is
 * logged, counted in `uncaught_exceptions_total`, and the service keeps serving. Several in a
 * short time mean the process is in a bad state: then it shuts down (exit 1), quickly.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface ProcessGuardOptions {
  logger: Logger;
  metrics: Registry;
  /** Called once when uncaught exceptions repeat too fast; must end the process. */
  onFatal: (reason: string) => void;
  /** This many uncaught exceptions within `windowMs` are fatal. Default 5. */
  maxExceptions?: number;
  /** Default 60 s. */
  windowMs?: number;
  now?: () => number;
}

export interface ProcessGuard {
  /** Records one uncaught exception; returns true when it made the process fatal. */
  exception(err: unknown, origin?: string): boolean;
  rejection(reason: unknown): void;
  /** Installs the handlers on `process`; returns a function that removes them. */
  install(): () => void;
}

export function createProcessGuard(options: ProcessGuardOptions): ProcessGuard {
  const { logger, metrics, onFatal } = options;
  const maxExceptions = options.maxExceptions ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const exceptions = new Counter({
    name: 'uncaught_exceptions_total',
    help: 'Exceptions no handler caught; the service logged them and kept serving.',
    registers: [metrics],
  });
  const rejections = new Counter({
    name: 'unhandled_rejections_total',
    help: 'Promise rejections no handler caught; logged, the service kept serving.',
    registers: [metrics],
  });
  const recent: number[] = [];
  let fatal = false;

  const guard: ProcessGuard = {
    exception(err, origin) {
      exceptions.inc();
      const at = now();
      recent.push(at);
      while (recent.length > 0 && (recent[0] ?? at) <= at - windowMs) recent.shift();
      if (fatal) return true;
      if (recent.length >= maxExceptions) {
        fatal = true;
        logger.fatal(
          { err, origin, count: recent.length, window_ms: windowMs },
          `${recent.length} uncaught exceptions within ${windowMs / 1000} s: shutting down`,
        );
        onFatal('repeated uncaught exceptions');
        return true;
      }
      logger.error({ err, origin, recent: recent.length }, 'uncaught exception: logged and counted, still serving');
      return false;
    },
    rejection(reason) {
      rejections.inc();
      logger.error({ err: reason }, 'unhandled promise rejection: logged and counted, still serving');
    },
    install() {
      const onException = (err: Error, origin: string) => {
        // Logging itself must never throw out of the last-resort handler.
        try {
          guard.exception(err, origin);
        } catch {
          if (!fatal) {
            fatal = true;
            onFatal('the uncaught exception handler failed');
          }
        }
      };
      const onRejection = (reason: unknown) => {
        try {
          guard.rejection(reason);
        } catch {
          // nothing left to report with
        }
      };
      process.on('uncaughtException', onException);
      process.on('unhandledRejection', onRejection);
      return () => {
        process.off('uncaughtException', onException);
        process.off('unhandledRejection', onRejection);
      };
    },
  };
  return guard;
}
