import { Runtime, type LogLevel, type LogMetadata, type Logger as SdkLogger } from '@temporalio/worker';
import type { Config } from '../../common/config';
import { logger, type Logger } from '../../common/logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * What the SDK says that is expected in our set-up, so it is not news: the bundler's webpack report
 * (many lines of module sizes), and each pool polling only its own kind of task.
 */
const ROUTINE = /^(asset workflow-bundle|No (workflows|activities|Nexus services) registered)/;

/** The SDK's logger interface over pino: worker, activity and workflow logs come out as our own lines. */
export class PinoSdkLogger implements SdkLogger {
  private readonly components = new Map<string, Logger>();

  constructor(private readonly pino: Logger) {}

  /**
   * A record whose metadata names a `component` (activity code logs through `activityLog`, see
   * activities/context.ts) is written under that component, with the SDK's activity attributes.
   */
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const to = ROUTINE.test(message) ? 'debug' : LEVELS[level];
    const { component, ...rest } = meta ?? {};
    this.forComponent(component)[to](rest, message);
  }

  private forComponent(component: unknown): Logger {
    if (typeof component !== 'string' || component === '') return this.pino;
    let child = this.components.get(component);
    if (!child) {
      child = this.pino.child({ component });
      this.components.set(component, child);
    }
    return child;
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

let installed = false;

/**
 * Installs the SDK runtime once per process, before any connection: SDK and core logs go through
 * pino at LOG_LEVEL (core's own at WARN, forwarded), and with WORKER_SDK_METRICS_PORT the SDK's
 * worker metrics (task slots, poll and schedule-to-start latencies…) are served for Prometheus.
 * A second call, or a call after the runtime started, changes nothing.
 */
export function installSdkRuntime(cfg: Config): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({
      logger: new PinoSdkLogger(logger('temporal')),
      telemetryOptions: {
        logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
        ...(cfg.WORKER_SDK_METRICS_PORT
          ? {
              metrics: {
                // Seconds, as Prometheus names durations (the dashboard's queue-wait and phase panels read them).
                prometheus: { bindAddress: `0.0.0.0:${cfg.WORKER_SDK_METRICS_PORT}`, useSecondsForDurations: true },
              },
            }
          : {}),
      },
    });
  } catch (err) {
    // The runtime was created already (e.g. a test harness made a connection first): keep it.
    logger('temporal').debug({ err: String(err) }, 'SDK runtime already installed');
  }
}
