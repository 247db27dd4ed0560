// axe-core injected into a page (the test context bypasses the CSP, which
// allows only the page's own scripts): the serious and critical
// violations under a selector.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from '@playwright/test';

// The axe-core that @axe-core/playwright depends on (and AxeBuilder runs in
// community.spec.ts): one axe for every pass, resolved from that package
// rather than from a hoisting npm may or may not do.
const fromAxePlaywright = createRequire(createRequire(import.meta.url).resolve('@axe-core/playwright'));
const axeSource = readFileSync(fromAxePlaywright.resolve('axe-core/axe.min.js'), 'utf8');

export async function audit(page: Page, selector: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async (sel) => {
    const r = await (window as any).axe.run(sel, { resultTypes: ['violations'] });
    // A selector that matched nothing checks nothing: say so instead of passing.
    if (!r.passes.length && !r.violations.length) return [`nothing checked under ${sel}`];
    return r.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id} (${v.impact}): ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
  }, selector);
}
