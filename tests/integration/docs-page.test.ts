import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import { openApiDocument } from '../../api/openapi';
import { testApp } from '../support/api';
import { listen } from '../support/cli';

/** Debian's chromium (installed by scripts/bootstrap.mjs), headless; CHROMIUM_PATH overrides it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? 'chromium';

/** The DOM chromium holds once the page has loaded, as it serialises it. */
function dumpDom(url: string): Promise<{ code: number | null; dom: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--user-data-dir=${fs.mkdtempSync(path.join(os.tmpdir(), 'sophia-chromium-'))}`,
        '--dump-dom',
        url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let dom = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (dom += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, dom, stderr }));
  });
}

describe('the /docs reference page', () => {
  const { app, gateway } = testApp();
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    ({ url, server } = await listen(app));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gateway.close();
  });

  it('loads in headless chromium and shows every operation and schema of the description', async () => {
    const { code, dom, stderr } = await dumpDom(`${url}/docs`);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    const doc = openApiDocument();
    expect(dom).toContain(`<title>${doc.info.title} ${doc.info.version}</title>`);
    const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const method of Object.keys(item as object)) {
        expect(dom).toContain(`${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>`);
      }
    }
    for (const name of Object.keys(doc.components?.schemas ?? {})) expect(dom).toContain(`id="schema-${name}"`);
    // A request body is shown as its schema, linked: the start body names its required fields.
    expect(dom).toContain('href="#schema-StartJobRequest"');
  });
});
