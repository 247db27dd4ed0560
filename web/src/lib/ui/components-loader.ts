// The message components chunk, loaded once with the first message that has any.
import type { Component } from 'svelte';
import type { Account } from '../stores/account.svelte';
import type { Message } from '../types';
import { lazy } from '../ui.svelte';

type C = Component<{ account: Account; message: Message }>;
let chunk: Promise<C> | null = null;

export function loadComponents(): Promise<C> {
  chunk ??= lazy(() => import('./MessageComponents.svelte')).then((m) => m.default as C);
  return chunk;
}
