import { checkReadme } from '../../activities/analysis/readme';

const CODE = {
  'shop/cart.py': 'def total(items):\n    return sum(items)\n',
  'test_cart.py': 'def test_total():\n    pass\n',
};
const rules = (files: Record<string, string>) => checkReadme(files).map((f) => `${f.rule} ${f.file}`);

describe('the README check of the docs ruleset', () => {
  it('asks for a README when the documented code has none', () => {
    expect(rules(CODE)).toEqual(['readme/missing README.md']);
  });

  it('accepts a README with a heading that shows the code in use', () => {
    expect(
      rules({ ...CODE, 'README.md': '## Usage\n\n```python\nfrom shop.cart import total\ntotal([1, 2])\n```\n' }),
    ).toEqual([]);
    expect(rules({ ...CODE, 'README.rst': 'Cart\n====\n\nCall ``total`` with the item prices.\n' })).toEqual([]);
  });

  it('flags a README without a heading, and one that names none of the code', () => {
    expect(rules({ ...CODE, 'README.md': 'Call total() with prices.\n' })).toEqual(['readme/no-heading README.md']);
    expect(rules({ ...CODE, 'README.md': '# My project\n\nIt is great.\n' })).toEqual(['readme/no-usage README.md']);
  });

  it('finds exported TypeScript names, and asks nothing of a file set without code', () => {
    const ts = { 'src/money.ts': 'export function formatCents(c: number): string {\n  return `${c}`;\n}\n' };
    expect(rules({ ...ts, 'README.md': '# Money\n\n`formatCents(150)` gives "150".\n' })).toEqual([]);
    expect(rules({ 'notes.txt': 'hello' })).toEqual([]);
  });
});
