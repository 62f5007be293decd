import request from 'supertest';
import type { CodingJobResult } from '../../workflows/coding-job/definitions';
import { useJobStack } from '../support/job-stack';

const UNDOCUMENTED =
  'export function formatCents(cents: number): string {\n  return `$${(cents / 100).toFixed(2)}`;\n}\n\nexport function parseCents(text: string): number {\n  return Math.round(Number(text.replace(/[$,]/g, "")) * 100);\n}\n';
// The first answer documents one function of two, and writes no README.
const HALF_DOCUMENTED = `/**
 * Formats an amount of cents as dollars.
 * @param cents - the amount, in cents
 * @returns the amount as "$1.50"
 */
export function formatCents(cents: number): string {
  return \`$\${(cents / 100).toFixed(2)}\`;
}

export function parseCents(text: string): number {
  return Math.round(Number(text.replace(/[$,]/g, "")) * 100);
}
`;
const DOCUMENTED = HALF_DOCUMENTED.replace(
  'export function parseCents',
  '/**\n * Parses "$1,234.50" into cents.\n * @param text - the amount as written\n * @returns the amount in cents\n */\nexport function parseCents',
);
const README = '## Money\n\n`formatCents(150)` gives `"$1.50"`; `parseCents("$1,234.50")` gives `123450`.\n';

const stack = useJobStack();

describe('a DOCUMENT job in TypeScript', () => {
  it("holds the code to ESLint's jsdoc rule and the README check, and refactors until both pass", async () => {
    const { model, app } = stack;
    model.reset();
    model.setScript({
      rules: [
        { match: 'code reviewer', in: 'system', reply: { content: { findings: [], summary: 'Fine.' } } },
        {
          match: 'Rewrite the file money.ts',
          in: 'user',
          reply: { content: { content: DOCUMENTED, explanation: 'TSDoc on parseCents' } },
        },
        {
          match: 'Rewrite the file README.md',
          in: 'user',
          reply: { content: { content: README, explanation: 'usage section' } },
        },
      ],
      default: { content: { files: [{ path: 'money.ts', content: HALF_DOCUMENTED }], explanation: 'TSDoc' } },
    });
    const started = await request(app)
      .post('/api/workflows')
      .send({
        task: 'document',
        language: 'typescript',
        description: `document money ${Date.now()}`,
        files: { 'money.ts': UNDOCUMENTED },
      })
      .expect(202);
    const res = await request(app).get(`/api/workflows/${started.body.workflowId}/result?wait=90000`).expect(200);
    const result = res.body.result as CodingJobResult;

    expect(result.outcome).toBe('succeeded');
    expect(result.iterations.map((i) => i.step)).toEqual(['generate', 'refactor']);
    const blocking = result.iterations[0]!.findings!.items!.filter((f) => f.blocking).map(
      (f) => `${f.source} ${f.file} ${f.message}`,
    );
    expect(blocking).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^eslint money\.ts jsdoc\/require-jsdoc/),
        expect.stringMatching(/^readme README\.md readme\/missing/),
      ]),
    );
    expect(result.iterations[1]!.findings!.blocking).toBe(0);
    const readmePrompt = model.chatRequests().find((r) => r.user.includes('Rewrite the file README.md'));
    expect(readmePrompt?.user).toContain('There is no README.md');

    const files = (await request(app).get(`/api/workflows/${started.body.workflowId}/files`).expect(200)).body
      .files as Record<string, string>;
    expect(files).toEqual({ 'money.ts': DOCUMENTED, 'README.md': README });
  });
});
