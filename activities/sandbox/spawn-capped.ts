import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How one spawned process tree ended. */
export interface CappedOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  /** stdout or stderr reached the cap and the tree was killed. */
  outputLimited: boolean;
  stdout: Buffer;
  stderr: Buffer;
  /** The structured report streamed on fd 3, if any. */
  report?: Buffer;
  durationMs: number;
}

export interface SpawnCappedOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
  outputLimitBytes: number;
  /** Open fd 3 as a pipe and collect what arrives on it (capped like the output). */
  reportFd?: boolean;
  /** Open fds of this process passed on as the child's fd 4, 5… (requires `reportFd`). */
  passFds?: number[];
  signal?: AbortSignal;
  /** Called every `heartbeatMs` while the process runs. */
  onProgress?: (progress: { elapsedMs: number; outputBytes: number }) => void;
  heartbeatMs?: number;
}

/** Collects at most `limit` bytes and reports when more arrived. */
class CappedSink {
  private readonly chunks: Buffer[] = [];
  bytes = 0;
  overflowed = false;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): boolean {
    if (this.overflowed) return false;
    const room = this.limit - this.bytes;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.bytes = this.limit;
      this.overflowed = true;
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * Spawns a process in its own process group and waits for it, enforcing the wall clock, the output
 * cap and cancellation by SIGKILL to the whole group. Never rejects for the child's own behaviour:
 * every ending is described in the outcome.
 */
export function spawnCapped(options: SpawnCappedOptions): Promise<CappedOutcome> {
  const started = performance.now();
  return new Promise<CappedOutcome>((resolve, reject) => {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      // A new process group, so one kill(-pid) reaches every process the command forked.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', ...(options.reportFd ? (['pipe'] as const) : []), ...(options.passFds ?? [])],
    });
    const stdout = new CappedSink(options.outputLimitBytes);
    const stderr = new CappedSink(options.outputLimitBytes);
    const report = new CappedSink(options.outputLimitBytes);
    let timedOut = false;
    let cancelled = false;
    let outputLimited = false;
    let killed = false;
    let forceClose: NodeJS.Timeout | undefined;

    const killTree = (): void => {
      if (killed || child.pid === undefined) return;
      killed = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      // A grandchild that escaped the group could hold the pipes open forever; stop waiting for it.
      forceClose = setTimeout(() => {
        for (const stream of child.stdio) (stream as Readable | null)?.destroy();
      }, 2_000);
    };

    const drain = (stream: Readable | null | undefined, sink: CappedSink, isOutput: boolean): void => {
      stream?.on('data', (chunk: Buffer) => {
        if (!sink.push(chunk) && isOutput) {
          // Stop reading at the cap: printing gigabytes must cost the worker nothing.
          outputLimited = true;
          killTree();
        }
      });
      stream?.on('error', () => undefined);
    };
    drain(child.stdout, stdout, true);
    drain(child.stderr, stderr, true);
    if (options.reportFd) drain(child.stdio[3] as Readable | null, report, false);

    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, options.timeoutMs);
    const progress = options.onProgress
      ? setInterval(
          () =>
            options.onProgress?.({
              elapsedMs: Math.round(performance.now() - started),
              outputBytes: stdout.bytes + stderr.bytes,
            }),
          options.heartbeatMs ?? 5_000,
        )
      : undefined;
    const onAbort = (): void => {
      cancelled = true;
      killTree();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const cleanup = (): void => {
      clearTimeout(timer);
      if (forceClose) clearTimeout(forceClose);
      if (progress) clearInterval(progress);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      cleanup();
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      cleanup();
      // The group may still hold members that ignored nothing but outlived the leader; reap them too.
      if (!killed && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Nothing left, the usual case.
        }
      }
      resolve({
        exitCode,
        signal,
        timedOut,
        cancelled,
        outputLimited,
        stdout: stdout.buffer(),
        stderr: stderr.buffer(),
        report: options.reportFd && report.bytes > 0 ? report.buffer() : undefined,
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}
