import { InProcessTokenBus, TokenPublisher, type TokenPiece } from '../../common/job-tokens';

describe('the in-process token bus', () => {
  it('reads a job’s pieces in order, from the start or after a piece, and only that job’s', async () => {
    const bus = new InProcessTokenBus();
    await bus.publish('job-a', { purpose: 'generate', call: '1:1', content: 'def ' });
    await bus.publish('job-b', { purpose: 'generate', call: '1:1', content: 'other job' });
    await bus.publish('job-a', { purpose: 'generate', call: '1:1', content: 'add' });
    const reader = bus.reader('job-a');
    const all = await reader.read(undefined, 0);
    expect(all.map((p) => p.content)).toEqual(['def ', 'add']);
    expect(all.map((p) => p.id)).toEqual([expect.stringMatching(/^\d+-\d+$/), expect.stringMatching(/^\d+-\d+$/)]);
    expect((await reader.read(all[0]!.id, 0)).map((p) => p.content)).toEqual(['add']);
    expect(await reader.read(all[1]!.id, 0)).toEqual([]);
  });

  it('a waiting read wakes for the next piece, and answers [] when aborted', async () => {
    const bus = new InProcessTokenBus();
    const reader = bus.reader('job-a');
    const waiting = reader.read(undefined, 60_000);
    await bus.publish('job-a', { purpose: 'review', call: '2:1', content: 'ok' });
    expect((await waiting).map((p) => p.content)).toEqual(['ok']);
    const controller = new AbortController();
    const last = (await reader.read(undefined, 0))[0]!.id;
    const aborted = reader.read(last, 60_000, controller.signal);
    controller.abort();
    expect(await aborted).toEqual([]);
  });
});

describe('TokenPublisher', () => {
  it('batches deltas into pieces of about flushChars, in order, and publishes the rest on end', async () => {
    const published: Omit<TokenPiece, 'id'>[] = [];
    const bus = {
      publish: async (_id: string, piece: Omit<TokenPiece, 'id'>) => void published.push(piece),
      reader: () => ({ read: async () => [], close: () => undefined }),
      close: async () => undefined,
    };
    const publisher = new TokenPublisher({ bus, workflowId: 'job-a', purpose: 'generate', call: '1:1' }, 10, 60_000);
    for (const delta of ['def ', 'add(a, b', '):\n', '    ', 'return a + b']) publisher.push(delta);
    await publisher.end();
    expect(published.map((p) => p.content).join('')).toBe('def add(a, b):\n    return a + b');
    // 5 deltas, 29 characters, pieces of at least 10 but the last: fewer writes than deltas.
    expect(published.length).toBeLessThan(5);
    expect(published.slice(0, -1).every((p) => p.content.length >= 10)).toBe(true);
    expect(published.every((p) => p.purpose === 'generate' && p.call === '1:1')).toBe(true);
  });
});
