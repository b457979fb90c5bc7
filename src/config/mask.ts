/** Shows that a secret is set without revealing any of it. */
export function maskSecret(value: string): string {
  return value.length === 0 ? '(empty)' : `******** (set, ${value.length} chars)`;
}
