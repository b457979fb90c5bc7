/**
 * The agent file LiveKit Agents forks job processes with (default export: `defineAgent`).
 *
 * Runs in the job processes only, never in the main process. `prewarm` gets the main process's
 * validated config over the control socket, then loads Silero VAD and warms the Piper voice, so
 * an idle process answers a new room at once. `entry` holds one conversation in one room.
 */
import { type JobContext, type JobProcess, defineAgent, type llm, tokenize, tts as ttsBase, voice } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import * as silero from '@livekit/agents-plugin-silero';
import OpenAI from 'openai';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { PiperEngine } from '../tts/engine.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { connectControl, type ControlClient, type JobEvent } from './control-channel.js';
import { guardLlmStream, type LlmFailure } from './llm-guard.js';
import { PiperTTS } from './piper-tts.js';
import { describeError, ResilientSTT, transcriptValidatingFetch } from './resilient-stt.js';
import {
  LLM_APOLOGY,
  llmSettings,
  NO_LLM_NOTICE,
  resolveInstructions,
  STT_APOLOGY,
  sttSettings,
  voiceFromMetadata,
} from './settings.js';
import { SESSION_TUNING, VAD_TUNING } from './tuning.js';

interface Prewarmed {
  config: Config;
  logger: Logger;
  vad: silero.VAD;
  engine: SpeechSynthesizer;
  control: ControlClient | undefined;
}

/** Apologies closer together than this are dropped: one failure often hits several utterances. */
const APOLOGY_INTERVAL_MS = 4000;

async function prewarm(proc: JobProcess): Promise<void> {
  let control: ControlClient | undefined;
  let config: Config;
  try {
    control = await connectControl();
    config = control.config;
  } catch {
    // Started by LiveKit's own CLI rather than our component: read the same layers ourselves.
    config = loadConfig().config;
  }
  const logger = createLogger(config).child({ component: 'agent-job', pid: process.pid });
  const started = Date.now();
  try {
    const vad = (await silero.VAD.load(VAD_TUNING)) as silero.VAD;
    // The engine alone, without the TTS component: its metrics would land in this process's registry,
    // which nobody scrapes; per-turn TTS timing reaches the main registry over the control socket.
    const engine = new PiperEngine(config);
    await engine.load(config.TTS_VOICE, config.TTS_WARMUP);
    logger.info({ ms: Date.now() - started, voice: config.TTS_VOICE, control: control !== undefined }, 'agent job process ready');
    const prewarmed: Prewarmed = { config, logger, vad, engine, control };
    proc.userData.prewarmed = prewarmed;
  } catch (err) {
    // The framework only logs this at debug level and retries with a fresh process.
    logger.error({ err }, `agent job process could not start: ${(err as Error).message}`);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    throw err;
  }
}

/** The agent of one conversation; its LLM replies go through the failure guard. */
class VoiceAgent extends voice.Agent {
  constructor(
    instructions: string,
    private readonly guard: {
      timeoutMs: number;
      takeProviderError: () => string | undefined;
      onFailure: (kind: LlmFailure['kind'], cause: string) => void;
      onFirstSentence: (ms: number) => void;
    },
  ) {
    super({ instructions });
  }

  override async llmNode(
    chatCtx: llm.ChatContext,
    toolCtx: llm.ToolContext,
    modelSettings: voice.ModelSettings,
  ): ReturnType<voice.Agent['llmNode']> {
    const source = await voice.Agent.default.llmNode(this, chatCtx, toolCtx, modelSettings);
    if (!source) return null;
    return guardLlmStream(source, {
      timeoutMs: this.guard.timeoutMs,
      apology: LLM_APOLOGY,
      takeProviderError: this.guard.takeProviderError,
      onFailure: (failure) => this.guard.onFailure(failure.kind, failure.cause),
      onFirstSentence: this.guard.onFirstSentence,
    });
  }
}

async function entry(ctx: JobContext): Promise<void> {
  const prewarmed = ctx.proc.userData.prewarmed as Prewarmed | undefined;
  if (!prewarmed) throw new Error('agent job process was not prewarmed');
  const { config, engine, vad, control } = prewarmed;
  const roomName = ctx.job.room?.name ?? 'unknown';
  const logger = prewarmed.logger.child({ room: roomName, job: ctx.job.id });
  const report = (event: JobEvent) => control?.send(event);
  type Failure = Omit<Extract<JobEvent, { type: 'provider_error' }>, 'type' | 'room'>;
  /** The main process logs it (one place for operators); logged here only when there is no main process. */
  const reportFailure = (failure: Failure) => {
    if (control) report({ type: 'provider_error', room: roomName, ...failure });
    else logger.error(failure, `${failure.provider} provider failed (${failure.kind}): ${failure.cause}`);
  };

  await ctx.connect();
  const participant = await ctx.waitForParticipant();

  const voiceName = await pickVoice(engine, config.TTS_VOICE, voiceFromMetadata(participant.metadata, ctx.room.metadata), logger);
  const piper = new PiperTTS({ engine, voice: voiceName, sampleRate: await engine.sampleRate(voiceName) });
  // The framework would wrap Piper in a sentence adapter itself, but its default tokenizer holds a
  // finished sentence back until 10 more characters arrive (for a one-sentence reply: until the LLM
  // is done). One character of look-ahead is enough to know the sentence ended. retainFormat keeps
  // the spaces between sentences in the transcript the user reads.
  const tts = new ttsBase.StreamAdapter(piper, new tokenize.basic.SentenceTokenizer({ minSentenceLength: 20, streamContextLength: 1, retainFormat: true }));

  const llmConfig = llmSettings(config);
  const sttConfig = llmConfig ? sttSettings(config) : undefined;

  let lastApologyAt = 0;
  let session: voice.AgentSession | undefined;
  const apologise = (text: string) => {
    const now = Date.now();
    if (!session || now - lastApologyAt < APOLOGY_INTERVAL_MS) return;
    lastApologyAt = now;
    try {
      session.say(text, { addToChatCtx: false });
    } catch (err) {
      logger.warn({ err }, 'could not speak the apology');
    }
  };

  const stt = sttConfig
    ? new ResilientSTT({
        inner: new openai.STT({
          useRealtime: false,
          model: sttConfig.model,
          apiKey: sttConfig.apiKey,
          language: config.STT_LANGUAGE,
          client: new OpenAI({ baseURL: sttConfig.baseURL, apiKey: sttConfig.apiKey, maxRetries: 0, fetch: transcriptValidatingFetch }),
        }),
        provider: sttConfig.provider,
        timeoutMs: config.AGENT_PROVIDER_TIMEOUT_MS,
        onFailure: (failure) => {
          reportFailure({ provider: 'stt', host: failure.provider, model: sttConfig.model, kind: failure.kind, cause: failure.cause });
          apologise(STT_APOLOGY);
        },
      })
    : undefined;

  let providerError: string | undefined;
  const model = llmConfig
    ? new openai.LLM({ model: llmConfig.model, baseURL: llmConfig.baseURL, apiKey: llmConfig.apiKey })
    : undefined;
  model?.on('error', (event) => {
    if (!event.recoverable) providerError = describeError(event.error);
  });

  session = new voice.AgentSession({
    vad,
    stt,
    llm: model,
    tts,
    ...SESSION_TUNING(config.AGENT_PROVIDER_TIMEOUT_MS),
  });

  session.on(voice.AgentSessionEventTypes.MetricsCollected, ({ metrics }) => {
    const stage = (name: Extract<JobEvent, { type: 'stage' }>['stage'], ms: number | undefined) => {
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) report({ type: 'stage', room: roomName, stage: name, ms });
    };
    switch (metrics.type) {
      case 'eou_metrics':
        stage('eou_delay', metrics.endOfUtteranceDelayMs);
        stage('transcription_delay', metrics.transcriptionDelayMs);
        break;
      case 'stt_metrics':
        stage('stt_duration', metrics.durationMs);
        break;
      case 'llm_metrics':
        stage('llm_ttft', metrics.ttftMs);
        break;
      case 'tts_metrics':
        // The sentence adapter reports once per reply (streamed) and Piper once per sentence: the
        // reply's first audio is what the user waits for.
        if (metrics.streamed) stage('tts_ttfb', metrics.ttfbMs);
        break;
    }
  });
  session.on(voice.AgentSessionEventTypes.Error, ({ error }) => {
    const event = error as { type?: string; error?: unknown; recoverable?: boolean };
    logger.warn({ provider: event.type, recoverable: event.recoverable, cause: describeError(event.error) }, 'agent session reported a provider error');
  });
  session.on(voice.AgentSessionEventTypes.AgentStateChanged, ({ newState }) => {
    if (newState === 'speaking') report({ type: 'agent_speaking', room: roomName });
  });
  session.on(voice.AgentSessionEventTypes.Close, ({ reason }) => {
    logger.info({ reason }, 'agent session closed');
    ctx.shutdown(`session closed: ${String(reason)}`);
  });

  const agent = new VoiceAgent(resolveInstructions(config), {
    timeoutMs: config.AGENT_PROVIDER_TIMEOUT_MS,
    takeProviderError: () => {
      const cause = providerError;
      providerError = undefined;
      return cause;
    },
    onFirstSentence: (ms) => report({ type: 'stage', room: roomName, stage: 'llm_first_sentence', ms }),
    onFailure: (kind, cause) => {
      reportFailure({ provider: 'llm', host: llmConfig?.provider ?? 'none', model: llmConfig?.model ?? 'none', kind, cause: cause.slice(0, 2000) });
    },
  });

  await session.start({
    agent,
    room: ctx.room,
    record: false,
    inputOptions: {
      participantIdentity: participant.identity,
      textInputCallback: (sess, event) => {
        if (!model) {
          logger.info('typed chat ignored: no language model configured');
          return;
        }
        sess.interrupt();
        sess.generateReply({ userInput: event.text });
      },
    },
  });
  logger.info({ voice: voiceName, participant: participant.identity, llm: llmConfig?.provider ?? null, stt: sttConfig?.provider ?? null }, 'agent session started');

  if (!model) {
    session.say(NO_LLM_NOTICE, { allowInterruptions: false, addToChatCtx: false });
  } else if (config.AGENT_GREETING.trim().length > 0) {
    session.say(config.AGENT_GREETING, { allowInterruptions: true });
  }
}

/** The requested voice when it loads, otherwise the default one. */
async function pickVoice(engine: SpeechSynthesizer, fallback: string, requested: string | undefined, logger: Logger): Promise<string> {
  if (!requested || requested === fallback) return fallback;
  try {
    await engine.sampleRate(requested);
    return requested;
  } catch (err) {
    logger.warn({ requested, fallback, cause: describeError(err) }, 'voice from metadata unavailable; using the default voice');
    return fallback;
  }
}

export default defineAgent({ prewarm, entry });
