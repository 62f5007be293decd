import request from 'supertest';
import { CALC, calcScript } from '../support/calc-script';
import { useJobStack } from '../support/job-stack';

/** The approval gate through the API, on real workers: reject has a route, and changes need a round left. */

const { FIXED, TESTS } = CALC;
const stack = useJobStack();

async function atGate(id: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const s = await request(stack.app).get(`/api/workflows/${id}`);
    if (s.body.awaitingApproval === true) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the job never reached its approval gate');
}

async function startAtGate(options: Record<string, unknown>): Promise<string> {
  stack.model.reset();
  stack.model.setScript(calcScript());
  const started = await request(stack.app)
    .post('/api/workflows')
    .send({
      task: 'generate',
      language: 'python',
      description: `add at the gate ${Date.now()}`,
      files: { 'calc.py': FIXED, 'test_calc.py': TESTS },
      options: { requireApproval: true, ...options },
    })
    .expect(202);
  const id = started.body.workflowId as string;
  await atGate(id);
  return id;
}

describe('the approval gate', () => {
  it('rejects a job through its own route: the job finishes as rejected, and acting on it again is ReviewRejected', async () => {
    const id = await startAtGate({});
    const res = await request(stack.app)
      .post(`/api/workflows/${id}/reject`)
      .send({ comment: 'not this way', reviewer: 'ada' })
      .expect(200);
    expect(res.body).toMatchObject({ workflowId: id, decision: 'rejected' });
    const result = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(200);
    expect(result.body.result).toMatchObject({
      outcome: 'rejected',
      message: 'Rejected by the reviewer: not this way',
    });
    // Acting on a rejected job again is answered with the rejection itself.
    for (const action of ['reject', 'approve']) {
      const again = await request(stack.app).post(`/api/workflows/${id}/${action}`).send({}).expect(409);
      expect(again.body.error).toMatchObject({
        code: 'ReviewRejected',
        message: 'The job was rejected at its approval gate. Rejected by the reviewer: not this way',
      });
    }
  });

  it('answers a request for changes with no refactor round left as BudgetExhausted, and keeps the job at the gate', async () => {
    const id = await startAtGate({ maxIterations: 1 });
    // The buggy first answer took the one refactor round the budget allows: none is left at the gate.
    expect((await request(stack.app).get(`/api/workflows/${id}`)).body.iteration).toBe(1);
    const res = await request(stack.app)
      .post(`/api/workflows/${id}/request-changes`)
      .send({ feedback: 'use operator.add' })
      .expect(402);
    expect(res.body.error.code).toBe('BudgetExhausted');
    expect(res.body.error.message).toContain('approve or reject');
    // Still waiting: the refused request left no trace, and approval ends the job as succeeded.
    expect((await request(stack.app).get(`/api/workflows/${id}`)).body.awaitingApproval).toBe(true);
    await request(stack.app).post(`/api/workflows/${id}/approve`).send({}).expect(200);
    const result = await request(stack.app).get(`/api/workflows/${id}/result?wait=60000`).expect(200);
    expect(result.body.result.outcome).toBe('succeeded');
  });
});
