import type { Component, ComponentHealth } from './component.js';
import type { Mode } from './config/schema.js';
import type { Logger } from './ops/logger.js';

export interface ComponentReport extends ComponentHealth {
  name: string;
  state: ComponentState;
}

type ComponentState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Starts components in order, stops them in reverse, and reports their readiness and status. */
export class App {
  private readonly states = new Map<Component, ComponentState>();
  private readonly startedAt = Date.now();

  constructor(
    readonly mode: Mode,
    readonly version: string,
    private readonly components: readonly Component[],
    private readonly logger: Logger,
  ) {
    for (const c of components) this.states.set(c, 'idle');
  }

  async start(): Promise<void> {
    for (const component of this.components) {
      this.states.set(component, 'starting');
      const started = Date.now();
      try {
        await component.start();
      } catch (err) {
        this.states.set(component, 'failed');
        throw err;
      }
      this.states.set(component, 'running');
      this.logger.info({ component: component.name, ms: Date.now() - started }, 'component started');
    }
  }

  /** Stops every component that started, last first, sharing one deadline. Never throws. */
  async stop(deadline: number): Promise<void> {
    for (const component of [...this.components].reverse()) {
      const state = this.states.get(component);
      if (state !== 'running' && state !== 'starting' && state !== 'failed') continue;
      this.states.set(component, 'stopping');
      try {
        await component.stop(deadline);
        this.states.set(component, 'stopped');
        this.logger.info({ component: component.name }, 'component stopped');
      } catch (err) {
        this.states.set(component, 'failed');
        this.logger.error({ err, component: component.name }, 'component failed to stop cleanly');
      }
    }
  }

  uptimeSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 100) / 10;
  }

  readiness(): { ready: boolean; components: ComponentReport[] } {
    const components = this.components.map((c) => {
      const state = this.states.get(c) ?? 'idle';
      const health: ComponentHealth = state === 'running' ? safeHealth(c) : { ready: false, detail: state };
      return { name: c.name, state, ...health };
    });
    return { ready: components.length > 0 && components.every((c) => c.ready), components };
  }

  status(): Record<string, unknown> & { components: Array<Record<string, unknown>> } {
    const { ready, components } = this.readiness();
    return {
      mode: this.mode,
      version: this.version,
      uptime_seconds: this.uptimeSeconds(),
      ready,
      components: components.map((report) => {
        const component = this.components.find((c) => c.name === report.name);
        return { ...report, ...(component?.status ? safeStatus(component) : {}) };
      }),
    };
  }
}

function safeHealth(c: Component): ComponentHealth {
  try {
    return c.health();
  } catch (err) {
    return { ready: false, detail: `health check failed: ${(err as Error).message}` };
  }
}

function safeStatus(c: Component): Record<string, unknown> {
  try {
    return c.status?.() ?? {};
  } catch (err) {
    return { status_error: (err as Error).message };
  }
}
