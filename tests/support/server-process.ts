import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until a server the tests started answers `ready()`, polling every 50 ms: fails at once with
 * `detail()` (e.g. its log tail) when the process exits, or when `timeoutMs` passes. The one start loop
 * of the test servers (Redis, Qdrant).
 */
export async function untilServing(
  child: ChildProcess,
  what: string,
  ready: () => Promise<boolean>,
  { timeoutMs, detail = () => '' }: { timeoutMs: number; detail?: () => string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}${suffix(detail())}`);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready in ${timeoutMs} ms${suffix(detail())}`);
    await sleep(50);
  }
}

/** Kills a test server at once, like a crash, and waits until it is gone. */
export async function killNow(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function suffix(text: string): string {
  return text ? `: ${text}` : '';
}
