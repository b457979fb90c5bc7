import { startLiveKitServer, type LiveKitServerOptions, type LiveKitTestServer } from './livekit-server.js';
import { startLlmServer, type LlmServerOptions, type LlmTestServer } from './llm-server.js';
import { startSttServer, type SttServerOptions, type SttTestServer } from './stt-server.js';

export interface TestBenchOptions {
  /** Options, or false to not start that peer. */
  livekit?: LiveKitServerOptions | false;
  stt?: SttServerOptions | false;
  llm?: LlmServerOptions | false;
}

export interface TestBench {
  livekit: LiveKitTestServer | undefined;
  stt: SttTestServer | undefined;
  llm: LlmTestServer | undefined;
  /** The service's environment variables pointing at the started peers (merge into the child's env). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the real peers at once (LiveKit server, Whisper STT, SmolLM2 LLM by default) and gives the
 * variables the service needs to use them. If one fails to start, the others are stopped again.
 */
export async function startTestBench(options: TestBenchOptions = {}): Promise<TestBench> {
  const results = await Promise.allSettled([
    options.livekit === false ? undefined : startLiveKitServer(options.livekit),
    options.stt === false ? undefined : startSttServer(options.stt),
    options.llm === false ? undefined : startLlmServer(options.llm),
  ] as const);
  const [lk, stt, llm] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined)) as [
    LiveKitTestServer | undefined,
    SttTestServer | undefined,
    LlmTestServer | undefined,
  ];
  const stop = async () => {
    await Promise.allSettled([lk?.stop(), stt?.stop(), llm?.stop()]);
  };
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) {
    await stop();
    throw new AggregateError(failures, `test bench did not start: ${failures.map((e) => e.message.split('\n')[0]).join('; ')}`);
  }
  const peers = { livekit: lk, stt, llm };
  return { ...peers, env: peerEnv(peers), stop };
}

/** The service's environment variables pointing at these peers (those given). */
export function peerEnv(peers: { livekit?: LiveKitTestServer; stt?: SttTestServer; llm?: LlmTestServer }): Record<string, string> {
  const { livekit: lk, stt, llm } = peers;
  const env: Record<string, string> = {};
  if (lk) Object.assign(env, { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret });
  if (stt) Object.assign(env, { STT_BASE_URL: stt.baseURL, STT_MODEL: stt.modelName, STT_LANGUAGE: 'en' });
  if (llm) Object.assign(env, { LLM_BASE_URL: llm.baseURL, LLM_MODEL: llm.model });
  // The OpenAI client insists on a key; the local peers accept any.
  if (stt || llm) env['OPENAI_API_KEY'] = 'local-test-peer';
  return env;
}
