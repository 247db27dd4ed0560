import { expect, test } from 'vitest';
test('bigint', () => expect(BigInt('10') > BigInt('9')).toBe(true));
