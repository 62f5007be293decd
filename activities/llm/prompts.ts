import type { ChatMessage } from './model-client';

const ANSWER_FORMAT =
  'Answer with one JSON object: {"files": [{"path": "relative/path", "content": "full file content"}], "explanation": "what you did and why"}. ' +
  'Always give whole files, never diffs or ellipses.';

export interface GeneratePromptInput {
  task: string;
  description: string;
  language: string;
  files: Record<string, string>;
  context?: string;
  requirements?: string[];
  memoryContext?: string;
}

function filesBlock(files: Record<string, string>): string {
  const entries = Object.entries(files);
  if (entries.length === 0) return '';
  return (
    '\n\nExisting files:\n' + entries.map(([p, content]) => `--- ${p}\n${content}${content.endsWith('\n') ? '' : '\n'}`).join('')
  );
}

/** The prompt for the first generation step. */
export function generatePrompt(input: GeneratePromptInput): ChatMessage[] {
  const requirements = input.requirements?.length
    ? '\n\nRequirements:\n' + input.requirements.map((r) => `- ${r}`).join('\n')
    : '';
  const context = input.context ? `\n\nContext from the user:\n${input.context}` : '';
  const memory = input.memoryContext ? `\n\nRelevant memory from earlier work:\n${input.memoryContext}` : '';
  return [
    {
      role: 'system',
      content:
        `You are Sophia Code, a senior ${input.language} engineer. You write correct, idiomatic, tested code. ` +
        ANSWER_FORMAT,
    },
    {
      role: 'user',
      content: `Task (${input.task}): ${input.description}${requirements}${context}${memory}${filesBlock(input.files)}`,
    },
  ];
}
