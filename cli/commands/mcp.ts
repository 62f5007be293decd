import type { Command } from '../command';
import { EXIT } from '../exit-codes';
import { serveMcp } from '../mcp';

/** The jobs as MCP tools over stdio. */
export const mcpCommand: Command = {
  usage: 'mcp',
  summary: 'serves the jobs as MCP tools over stdio, for IDE agents',
  arity: [0, 0],
  async run(ctx) {
    await serveMcp(ctx.api);
    return EXIT.ok;
  },
};
