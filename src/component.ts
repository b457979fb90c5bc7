/**
 * The unit the app composes. A mode is a list of components; the app starts them in order,
 * stops them in reverse and reports their readiness on the ops server.
 */
export interface ComponentHealth {
  ready: boolean;
  /** Why it is not ready, or a short state word ("listening", "registered", ...). */
  detail?: string;
}

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /**
   * Stop accepting new work, let work in flight finish until `deadline` (epoch ms), then
   * release everything. Must resolve; the app exits after the last component stopped.
   */
  stop(deadline: number): Promise<void>;
  health(): ComponentHealth;
  /** Counters and state shown by GET /status. */
  status?(): Record<string, unknown>;
}
