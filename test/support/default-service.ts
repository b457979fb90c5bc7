import { PROJECT_ROOT } from '../../src/config/load.js';
import { httpOk, PeerProcess, waitUntilReady } from './child-process.js';
import type { LiveKitTestServer } from './livekit-server.js';
import { freeTcpPort } from './ports.js';
import { TEST_VOICE, testVoicesDir } from './voices.js';

export interface DefaultService {
  process: PeerProcess;
  healthUrl: string;
  /** The page's address when the web server runs. */
  webUrl: string | undefined;
  agentName: string;
}

/**
 * The real service (`src/main.ts`, agent mode) as a new user runs it: only where to listen and which
 * LiveKit server are set, nothing about providers, instructions or models, so it answers with its own
 * local models. Resolves once `/ready` answers 200 (models loaded, worker registered).
 */
export async function startDefaultService(options: {
  livekit: LiveKitTestServer;
  name: string;
  web: boolean;
  /** Settings beyond the defaults (the benchmark's session limits, log level). */
  env?: Record<string, string>;
  onStdoutLine?: (line: string) => void;
}): Promise<DefaultService> {
  const [healthPort, webPort, llmPort, sttPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const agentName = `${options.name}-${process.pid}`;
  const { livekit } = options;
  const service = new PeerProcess({
    name: `voice-orchestrator (${options.name}, default providers)`,
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: PROJECT_ROOT,
    keepLines: 300,
    ...(options.onStdoutLine ? { onStdoutLine: options.onStdoutLine } : {}),
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      LIVEKIT_URL: livekit.url,
      LIVEKIT_API_KEY: livekit.apiKey,
      LIVEKIT_API_SECRET: livekit.apiSecret,
      AGENT_NAME: agentName,
      AGENT_HEALTH_PORT: '0',
      HEALTH_PORT: String(healthPort),
      WEB_ENABLED: String(options.web),
      WEB_PORT: String(webPort),
      LOCAL_LLM_PORT: String(llmPort),
      LOCAL_STT_PORT: String(sttPort),
      VOICES_DIR: testVoicesDir(),
      TTS_VOICE: TEST_VOICE,
      ...options.env,
    },
  });
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  await waitUntilReady(service, () => httpOk(`${healthUrl}/ready`), 180_000, 'ready (GET /ready: local models loaded, worker registered)');
  return { process: service, healthUrl, webUrl: options.web ? `http://127.0.0.1:${webPort}/` : undefined, agentName };
}
