import { describe, expect, test } from 'vitest';
import { inline, parse, safeHref, type Block, type Inline } from './parse';

const p = (s: string) => (parse(s)[0] as Extract<Block, { t: 'p' }>).c;

describe('inline', () => {
  test('bold, italics, underline, strike, spoiler', () => {
    expect(inline('**b**')).toEqual([{ t: 'b', c: [{ t: 'text', v: 'b' }] }]);
    expect(inline('*i*')).toEqual([{ t: 'i', c: [{ t: 'text', v: 'i' }] }]);
    expect(inline('_i_')).toEqual([{ t: 'i', c: [{ t: 'text', v: 'i' }] }]);
    expect(inline('__u__')).toEqual([{ t: 'u', c: [{ t: 'text', v: 'u' }] }]);
    expect(inline('~~s~~')).toEqual([{ t: 's', c: [{ t: 'text', v: 's' }] }]);
    expect(inline('||x||')).toEqual([{ t: 'spoiler', c: [{ t: 'text', v: 'x' }] }]);
  });
  test('bold italics', () => {
    expect(inline('***x***')).toEqual([{ t: 'b', c: [{ t: 'i', c: [{ t: 'text', v: 'x' }] }] }]);
  });
  test('snake_case stays text', () => {
    expect(inline('a snake_case_name here')).toEqual([{ t: 'text', v: 'a snake_case_name here' }]);
  });
  test('unclosed delimiters are text', () => {
    expect(inline('2 * 3 = 6 and **open')).toEqual([{ t: 'text', v: '2 * 3 = 6 and **open' }]);
  });
  test('escapes', () => {
    expect(inline('\\*not\\*')).toEqual([{ t: 'text', v: '*not*' }]);
  });
  test('inline code keeps markdown literal', () => {
    expect(inline('`**x**`')).toEqual([{ t: 'code', v: '**x**' }]);
  });
  test('mentions, emoji, timestamps', () => {
    expect(inline('<@123> <@!4> <@&5> <#6>')).toEqual([
      { t: 'user', id: '123' },
      { t: 'text', v: ' ' },
      { t: 'user', id: '4' },
      { t: 'text', v: ' ' },
      { t: 'role', id: '5' },
      { t: 'text', v: ' ' },
      { t: 'channel', id: '6' },
    ]);
    expect(inline('<:blob:77><a:dance:78>')).toEqual([
      { t: 'emoji', id: '77', name: 'blob', animated: false },
      { t: 'emoji', id: '78', name: 'dance', animated: true },
    ]);
    expect(inline('<t:1700000000:R>')).toEqual([{ t: 'time', unix: 1700000000, style: 'R' }]);
    expect(inline('@everyone @here')).toEqual([
      { t: 'everyone', v: '@everyone' },
      { t: 'text', v: ' ' },
      { t: 'everyone', v: '@here' },
    ]);
  });
  test('links: bare, masked, angle; trailing punctuation left out', () => {
    expect(inline('see https://example.com/a.')).toEqual([
      { t: 'text', v: 'see ' },
      { t: 'link', href: 'https://example.com/a', c: [{ t: 'text', v: 'https://example.com/a' }] },
      { t: 'text', v: '.' },
    ]);
    expect(inline('[site](https://example.com)')).toEqual([{ t: 'link', href: 'https://example.com/', c: [{ t: 'text', v: 'site' }] }]);
    expect(inline('<https://x.org>')).toEqual([{ t: 'link', href: 'https://x.org/', c: [{ t: 'text', v: 'https://x.org' }] }]);
  });
});

describe('blocks', () => {
  test('code block with language', () => {
    expect(parse('```js\nlet a = 1;\n```')).toEqual([{ t: 'codeblock', lang: 'js', v: 'let a = 1;' }]);
    expect(parse('```plain **x**```')).toEqual([{ t: 'codeblock', lang: '', v: 'plain **x**' }]);
  });
  test('quotes, headings, lists, subtext', () => {
    expect(parse('> hi\n> there\nout')).toEqual([
      { t: 'quote', c: [{ t: 'p', c: [{ t: 'text', v: 'hi' }, { t: 'br' }, { t: 'text', v: 'there' }] }] },
      { t: 'p', c: [{ t: 'text', v: 'out' }] },
    ]);
    expect(parse('>>> all\nof it')[0]).toEqual({ t: 'quote', c: [{ t: 'p', c: [{ t: 'text', v: 'all' }, { t: 'br' }, { t: 'text', v: 'of it' }] }] });
    expect(parse('# Big')).toEqual([{ t: 'h', level: 1, c: [{ t: 'text', v: 'Big' }] }]);
    expect(parse('#nospace')).toEqual([{ t: 'p', c: [{ t: 'text', v: '#nospace' }] }]);
    expect(parse('-# small')).toEqual([{ t: 'sub', c: [{ t: 'text', v: 'small' }] }]);
    expect(parse('- a\n- b')).toEqual([{ t: 'list', ordered: false, start: 1, items: [[{ t: 'text', v: 'a' }], [{ t: 'text', v: 'b' }]] }]);
    expect(parse('3. c\n4. d')).toEqual([{ t: 'list', ordered: true, start: 3, items: [[{ t: 'text', v: 'c' }], [{ t: 'text', v: 'd' }]] }]);
  });
});

function allLinks(nodes: (Inline | Block)[]): string[] {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.t === 'link') out.push(String(o.href));
    for (const v of Object.values(o)) if (Array.isArray(v)) v.forEach((x) => (Array.isArray(x) ? x.forEach(walk) : walk(x)));
  };
  nodes.forEach(walk);
  return out;
}

describe('XSS payloads stay text', () => {
  const payloads = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '[click](javascript:alert(1))',
    '[click](JaVaScRiPt:alert(1))',
    '<javascript:alert(1)>',
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    'javascript:alert(1)',
    '<svg/onload=alert(1)>',
    '"><iframe src=javascript:alert(1)>',
    '[a](https://ok.example" onmouseover="alert(1))',
    '<a href="javascript:alert(1)">x</a>',
    '[x](vbscript:msgbox(1))',
    '<t:1:R><script>',
  ];
  for (const x of payloads) {
    test(x, () => {
      const tree = parse(x);
      for (const href of allLinks(tree)) expect(href).toMatch(/^(https?|mailto):/);
      // No node type carries markup: every string in the tree is text or an href checked above.
      const types = new Set<string>();
      JSON.stringify(tree, (k, v) => {
        if (k === 't') types.add(v);
        return v;
      });
      for (const t of types) expect(['p', 'text', 'br', 'time', 'link', 'i', 'b', 'u', 's', 'code', 'quote', 'codeblock']).toContain(t);
    });
  }
  test('safeHref refuses other schemes', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,x')).toBeNull();
    expect(safeHref('mailto:a@b.c')).toBe('mailto:a@b.c');
  });
  test('masked link with quote in url is refused or sanitised', () => {
    const l = allLinks(parse('[a](https://ok.example" onmouseover="alert(1))'));
    for (const h of l) expect(h).not.toContain('"');
  });
});

test('paragraph helper', () => {
  expect(p('a\nb')).toEqual([{ t: 'text', v: 'a' }, { t: 'br' }, { t: 'text', v: 'b' }]);
});
