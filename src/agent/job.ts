import '../ops/no-telemetry.js';
import { type JobContext, type JobProcess, defineAgent, tts as ttsBase, voice } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { ParticipantKind, RoomEvent } from '@livekit/rtc-node';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../ops/logger.js';
import type { SpeechSynthesizer } from '../tts/types.js';
import { WyomingSynthesizer } from '../wyoming/client.js';
import { CONTROL_ENV, connectControl, type ControlClient, type JobEvent } from './control-channel.js';
import { assistantSpec, conversationLlm, pickVoice, shownModel, speechEngine } from './job-parts.js';
import { registerChat } from './chat-input.js';
import { PiperTTS } from './piper-tts.js';
import { TurnLatencyTracker } from './turn-latency.js';
import { FirstClauseTokenizer } from './first-clause-tokenizer.js';
import { VoiceAgent } from './voice-agent.js';
import { EarlySTT } from './early-stt.js';
import { SharedVAD } from './shared-vad.js';
import { describeError, openaiTranscriber, ResilientSTT } from './resilient-stt.js';
import { chatGate, type ConversationEnd, ConversationWatchdog, MAX_CONVERSATION_NOTICE, NO_LLM_NOTICE, STT_APOLOGY, voiceFromMetadata } from './settings.js';
import { sessionTuning, vadTuning } from './tuning.js';

interface Prewarmed {
  config: Config;
  logger: Logger;
  vad: silero.VAD;
  engine: SpeechSynthesizer;
  control: ControlClient | undefined;
}

/** Apologies closer together than this are dropped: one failure often hits several utterances. */
const APOLOGY_INTERVAL_MS = 4000;
/** Longest the goodbye at the maximum conversation length may take before the agent leaves anyway. */
const GOODBYE_TIMEOUT_MS = 15_000;

async function prewarm(proc: JobProcess): Promise<void> {
  let control: ControlClient | undefined;
  let config: Config;
  try {
    control = await connectControl();
    config = control.config;
  } catch (err) {
    // Forked by our component (which may have bundled this module elsewhere): its config or nothing.
    if (process.env[CONTROL_ENV.socket]) {
      process.stderr.write(`agent job process could not start: ${(err as Error).message}\n`);
      throw err;
    }
    // Started by LiveKit's own CLI rather than our component: read the same layers ourselves.
    config = loadConfig().config;
  }
  const logger = createLogger(config).child({ component: 'agent-job', pid: process.pid });
  const started = Date.now();
  try {
    const vad = (await silero.VAD.load(vadTuning(config))) as silero.VAD;
    await loadFetch();
    const engine = await speechEngine(config);
    const shared = engine instanceof WyomingSynthesizer;
    logger.info({ ms: Date.now() - started, voice: config.TTS_VOICE, control: control !== undefined, sharedSpeech: shared }, 'agent job process ready');
    const prewarmed: Prewarmed = { config, logger, vad, engine, control };
    proc.userData.prewarmed = prewarmed;
  } catch (err) {
    // The framework only logs this at debug level and retries with a fresh process.
    logger.error({ err }, `agent job process could not start: ${(err as Error).message}`);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    throw err;
  }
}

/**
 * Node compiles its bundled HTTP client on the first use of `fetch` or `Headers` (about 30 ms, measured as
 * part of the event-loop block at job start, where the LLM client's first request used it): done here instead.
 */
async function loadFetch(): Promise<void> {
  await (await fetch('data:,')).arrayBuffer();
}

async function entry(ctx: JobContext): Promise<void> {
  const prewarmed = ctx.proc.userData.prewarmed as Prewarmed | undefined;
  if (!prewarmed) throw new Error('agent job process was not prewarmed');
  const { config, engine, vad, control } = prewarmed;
  const roomName = ctx.job.room?.name ?? 'unknown';
  // the assistant in force when this conversation starts: it keeps this version to the end
  const spec = await assistantSpec(control, ctx.job.agentName, config);
  const logger = prewarmed.logger.child({ room: roomName, job: ctx.job.id, assistant: spec.name, version: spec.version });
  const report = (event: JobEvent) => control?.send(event);
  type Failure = Omit<Extract<JobEvent, { type: 'provider_error' }>, 'type' | 'room' | 'assistant'>;
  /** The main process logs it (one place for operators); logged here only when there is no main process. */
  const reportFailure = (failure: Failure) => {
    if (control) report({ type: 'provider_error', room: roomName, assistant: spec.name, ...failure });
    else logger.error(failure, `${failure.provider} provider failed (${failure.kind}): ${failure.cause}`);
  };

  await ctx.connect();

  // Limits that keep this room from holding an agent (a session slot) forever.
  let session: voice.AgentSession | undefined;
  let ended: (reason: ConversationEnd) => void = () => undefined;
  const endedPromise = new Promise<ConversationEnd>((resolve) => {
    ended = resolve;
  });
  const watchdog = new ConversationWatchdog({
    awayMs: config.AGENT_USER_AWAY_TIMEOUT_MS,
    maxMs: config.AGENT_MAX_CONVERSATION_MS,
    onEnd: (reason) => {
      ended(reason);
      void endConversation(reason);
    },
  });
  const countUsers = () => [...ctx.room.remoteParticipants.values()].filter((p) => p.info.kind !== ParticipantKind.AGENT).length;
  const onParticipantsChanged = () => watchdog.usersPresent(countUsers());
  ctx.room.on(RoomEvent.ParticipantConnected, onParticipantsChanged).on(RoomEvent.ParticipantDisconnected, onParticipantsChanged);
  ctx.addShutdownCallback(async () => {
    watchdog.stop();
    ctx.room.off(RoomEvent.ParticipantConnected, onParticipantsChanged).off(RoomEvent.ParticipantDisconnected, onParticipantsChanged);
  });
  watchdog.start();
  onParticipantsChanged();

  async function endConversation(reason: ConversationEnd): Promise<void> {
    const messages: Record<ConversationEnd, string> = {
      no_participant: `no user in the room for ${config.AGENT_USER_AWAY_TIMEOUT_MS} ms (AGENT_USER_AWAY_TIMEOUT_MS): leaving`,
      user_away: `user silent for ${config.AGENT_USER_AWAY_TIMEOUT_MS} ms (AGENT_USER_AWAY_TIMEOUT_MS): leaving`,
      max_duration: `conversation reached ${config.AGENT_MAX_CONVERSATION_MS} ms (AGENT_MAX_CONVERSATION_MS): saying goodbye and leaving`,
    };
    logger.info({ reason }, messages[reason]);
    if (reason === 'max_duration' && session) {
      try {
        const goodbye = session.say(MAX_CONVERSATION_NOTICE, { allowInterruptions: false, addToChatCtx: false });
        await Promise.race([goodbye.waitForPlayout(), new Promise((resolve) => setTimeout(resolve, GOODBYE_TIMEOUT_MS).unref())]);
      } catch (err) {
        logger.warn({ cause: describeError(err) }, 'could not say goodbye');
      }
    }
    session?.shutdown({ drain: false, reason });
    ctx.shutdown(`conversation ended: ${reason}`);
  }

  const arrival = Promise.resolve(ctx.waitForParticipant());
  // Once the watchdog ended the job, the room disconnect rejects the wait: nobody is waiting any more.
  arrival.catch(() => undefined);
  const participant = await Promise.race([arrival, endedPromise.then(() => undefined)]);
  if (!participant || watchdog.hasEnded) return;

  const voiceName = await pickVoice(engine, spec.voice, voiceFromMetadata(participant.metadata, ctx.room.metadata), logger);
  const piper = new PiperTTS({ engine, voice: voiceName, sampleRate: await engine.sampleRate(voiceName) });
  // The framework would wrap Piper in a sentence adapter itself, with a tokenizer that holds a finished
  // sentence back until 10 more characters arrive and waits for a reply's whole first sentence.
  const tts = new ttsBase.StreamAdapter(piper, new FirstClauseTokenizer());

  const llmConfig = spec.llm[0];
  const sttChain = llmConfig ? spec.stt : [];

  let lastApologyAt = 0;
  let apologyWaiting = false;
  const apologise = (text: string) => {
    // Never over the user: speech started while the VAD still hears them is cut at once (an early
    // transcription fails before the utterance has ended). Said when they stop.
    if (session?.userState === 'speaking') {
      if (apologyWaiting) return;
      apologyWaiting = true;
      const whenUserStops = ({ newState }: voice.UserStateChangedEvent) => {
        if (newState === 'speaking') return;
        session?.off(voice.AgentSessionEventTypes.UserStateChanged, whenUserStops);
        apologyWaiting = false;
        apologise(text);
      };
      session.on(voice.AgentSessionEventTypes.UserStateChanged, whenUserStops);
      return;
    }
    const now = Date.now();
    if (!session || now - lastApologyAt < APOLOGY_INTERVAL_MS) return;
    lastApologyAt = now;
    try {
      session.say(text, { addToChatCtx: false });
    } catch (err) {
      logger.warn({ err }, 'could not speak the apology');
    }
  };

  // The STT chain: its first profile, and the next ones in turn when it fails (an apology only when all fail).
  const transcriber =
    sttChain.length > 0
      ? new ResilientSTT({
          chain: sttChain.map((link) => ({
            stt: openaiTranscriber({ model: link.model, apiKey: link.apiKey, baseURL: link.baseURL, language: config.STT_LANGUAGE }),
            provider: link.provider,
          })),
          timeoutMs: config.AGENT_PROVIDER_TIMEOUT_MS,
          onFailure: (failure) => {
            reportFailure({ provider: 'stt', host: failure.provider, model: failure.model, kind: failure.kind, cause: failure.cause, fallback: !failure.lost });
            if (failure.lost) apologise(STT_APOLOGY);
          },
        })
      : undefined;
  // one Silero stream per room: the session's, which EarlySTT hears as well
  const sessionVad = new SharedVAD(vad);
  const stt = transcriber && new EarlySTT({ inner: transcriber, vad: sessionVad, earlyMs: config.AGENT_EARLY_TRANSCRIPTION_MS });

  let providerError: string | undefined;
  const model = conversationLlm(spec.llm, config.AGENT_PROVIDER_TIMEOUT_MS);
  model?.on('error', (event) => {
    if (!event.recoverable) providerError = describeError(event.error);
  });

  session = new voice.AgentSession({
    vad: sessionVad,
    stt,
    llm: model,
    tts,
    ...sessionTuning(config),
    // The framework's user-away state: user and agent both silent (no typed message either) this long.
    userAwayTimeout: config.AGENT_USER_AWAY_TIMEOUT_MS / 1000,
  });
  session.on(voice.AgentSessionEventTypes.UserStateChanged, ({ newState }) => {
    if (newState === 'away') watchdog.userAway();
  });

  const latency = new TurnLatencyTracker(({ turn, e2eMs, overheadMs, stages, interrupted }) =>
    report({
      type: 'turn',
      room: roomName,
      assistant: spec.name,
      turn,
      e2e_ms: e2eMs,
      ...(overheadMs !== undefined ? { overhead_ms: overheadMs } : {}),
      stages,
      interrupted,
    }),
  );
  latency.attach(session);
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

  const agent = new VoiceAgent(spec.instructions, {
    // every profile of the chain gets its own attempt before the user hears an apology
    timeoutMs: config.AGENT_PROVIDER_TIMEOUT_MS * Math.max(1, spec.llm.length),
    takeProviderError: () => {
      const cause = providerError;
      providerError = undefined;
      return cause;
    },
    onLlmStart: () => latency.llmStarted(),
    onFirstSentence: (ms) => latency.firstSentence(ms),
    onFailure: (kind, cause) => {
      reportFailure({ provider: 'llm', host: llmConfig?.provider ?? 'none', model: llmConfig?.model ?? 'none', kind, cause: cause.slice(0, 2000) });
    },
  });

  registerChat(ctx.room, participant, {
    maxChars: config.AGENT_MAX_CHAT_CHARS,
    gate: chatGate(config.AGENT_CHAT_RATE_PER_MIN),
    logger,
    onMessage: (text) => {
      const current = session;
      if (!current || watchdog.hasEnded) return;
      if (!model) {
        logger.info('typed chat ignored: no language model configured');
        return;
      }
      current.interrupt();
      current.generateReply({ userInput: text });
    },
  });

  await session.start({
    agent,
    room: ctx.room,
    record: false,
    inputOptions: {
      participantIdentity: participant.identity,
      // Typed chat is read by registerChat (bounded in size and rate), not by the framework,
      // whose reader would buffer a message of any size.
      textEnabled: false,
    },
  });
  logger.info(
    { voice: voiceName, participant: participant.identity, llm: llmConfig?.provider ?? null, stt: sttChain[0]?.provider ?? null },
    'agent session started',
  );
  // The page shows what it is talking to.
  const models = { llm: shownModel(llmConfig), stt: shownModel(sttChain[0]), voice: voiceName };
  ctx.room.localParticipant?.setAttributes({ 'vo.models': JSON.stringify(models) }).catch((err: unknown) => {
    logger.warn({ cause: describeError(err) }, 'could not publish the models attribute');
  });

  if (!model) {
    session.say(NO_LLM_NOTICE, { allowInterruptions: false, addToChatCtx: false });
  } else if (spec.greeting.trim().length > 0) {
    session.say(spec.greeting, { allowInterruptions: true });
  }
}

export default defineAgent({ prewarm, entry });
