/** Shows that a secret is set without revealing any of it. */
export function maskSecret(value: string): string {
  return value.length === 0 ? '(empty)' : `******** (set, ${value.length} chars)`;
}

/** Query parameters whose values are credentials (`?token=`, `?api_key=`, `?access_token=`, `?sig=`, …). */
const CREDENTIAL_PARAM = /token|key|secret|pass|pwd|auth|sig|credential|session/i;
const MASK = '***';

/**
 * Masks credentials inside URLs, keeping everything else as written: the user-info part
 * (`wss://user:pass@host` → `wss://***@host`) and the values of credential-like query parameters
 * (`?token=abc` → `?token=***`). Works on lists of URLs too and leaves other text unchanged.
 */
export function maskUrlCredentials(value: string): string {
  if (!value.includes('://')) return value;
  return value
    .replace(/([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s,]*)@/gi, (_m, scheme: string) => `${scheme}${MASK}@`)
    .replace(/([?&;])([^=&#\s,]*)=([^&#\s,]*)/g, (m, sep: string, name: string, v: string) =>
      CREDENTIAL_PARAM.test(name) && v.length > 0 ? `${sep}${name}=${MASK}` : m,
    );
}

/** How a configuration value may be shown (config:check, error messages): secrets masked, URL credentials too. */
export function displayValue(value: string, secret: boolean): string {
  return secret ? maskSecret(value) : maskUrlCredentials(value);
}
