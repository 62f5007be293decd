import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { installTracing, shutdownTracing } from '../../common/tracing';
import { calcScript, CALC } from '../support/calc-script';
import { useJobStack } from '../support/job-stack';

/**
 * One trace per job, recorded with the OpenTelemetry SDK's in-memory exporter: the API's request
 * span, the client's workflow start, the workflow, each activity and each model call, joined.
 */
const exporter = new InMemorySpanExporter();
beforeAll(() => {
  // Before the stack starts, so its workers get the Temporal tracing plugin.
  installTracing('sophia-test', new SimpleSpanProcessor(exporter));
});
const stack = useJobStack();
afterAll(() => shutdownTracing());

const MARKER = `PROMPT-MARKER-${Date.now()}`;

/** Waits until `check` passes on the spans exported so far (workflow spans arrive through a sink). */
async function spansUntil(check: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  for (let i = 0; i < 200; i++) {
    const spans = exporter.getFinishedSpans();
    if (check(spans)) return spans;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return exporter.getFinishedSpans();
}

describe('traces', () => {
  it('a job is one trace from the HTTP request through the workflow to each activity and model call', async () => {
    stack.model.reset();
    stack.model.setScript(calcScript({ code: CALC.FIXED }));
    const started = await request(stack.app)
      .post('/api/workflows')
      .send({ task: 'generate', description: `an add(a, b) function ${MARKER}`, language: 'python' })
      .expect(202);
    await request(stack.app).get(`/api/workflows/${started.body.workflowId}/result?wait=60000`).expect(200);

    const spans = await spansUntil((all) =>
      all.some(
        (s) =>
          s.name === 'CompleteWorkflow:codingLifecycleWorkflow' || s.name === 'RunWorkflow:codingLifecycleWorkflow',
      ),
    );
    const http = spans.find((s) => s.name === 'POST /api/workflows');
    // On failure, the names and traces of what was recorded say what is missing.
    const recorded = spans.map((s) => `${s.name} ${s.spanContext().traceId.slice(0, 8)}`);
    expect({ http: http?.name, recorded }).toEqual({ http: 'POST /api/workflows', recorded: expect.any(Array) });
    const traceId = http!.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const names = inTrace.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /api/workflows',
        'StartWorkflow:codingLifecycleWorkflow',
        'RunActivity:generateCode',
        'RunActivity:runTests',
        'llm generate',
        'llm review',
      ]),
    );
    expect(names.some((n) => /^(RunWorkflow|CompleteWorkflow):codingLifecycleWorkflow$/.test(n))).toBe(true);
    expect(names.some((n) => n === 'StartActivity:generateCode')).toBe(true);

    // The model call sits under its activity, and carries its token counts.
    const generate = inTrace.find((s) => s.name === 'llm generate')!;
    const activity = inTrace.find((s) => s.name === 'RunActivity:generateCode')!;
    expect(generate.parentSpanId).toBe(activity.spanContext().spanId);
    expect(generate.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
    expect(generate.attributes['gen_ai.usage.output_tokens']).toEqual(expect.any(Number));
    expect(Number(generate.attributes['gen_ai.usage.input_tokens'])).toBeGreaterThan(0);

    // Never the prompt, nor the answer: no attribute or event of any span holds them.
    const text = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]));
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('return a + b');
  });
});
