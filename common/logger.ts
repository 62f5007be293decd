import pino, { type Logger } from 'pino';
import { config } from './config';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component']);

/** One human line per record: `12:00:01 INFO  [api] listening port=8000`. */
function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(Number(record.time)).toISOString().slice(11, 19);
  const level = LEVEL_NAMES[Number(record.level)] ?? String(record.level);
  const extras = Object.entries(record)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} [${String(record.component ?? 'sophia')}] ${String(record.msg ?? '')}${extras ? ' ' + extras : ''}\n`;
}

let root: Logger | undefined;

function rootLogger(): Logger {
  if (root) return root;
  const cfg = config();
  const options: pino.LoggerOptions = {
    level: cfg.LOG_LEVEL,
    base: undefined,
    redact: { paths: ['*.apiKey', '*.api_key', '*.token', '*.authorization', 'headers.authorization'], censor: '***' },
  };
  root =
    cfg.LOG_FORMAT === 'json'
      ? pino(options)
      : pino(options, { write: (chunk: string) => process.stdout.write(prettyLine(chunk.trimEnd())) });
  return root;
}

/** A logger whose records name their component (`api`, `worker:llm`, `temporal`…). */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
