/**
 * Turn-taking choices, in one place. Everything here runs locally: leaving `turnDetection` or the
 * interruption mode unset would make agents-js build detectors that call LiveKit Cloud.
 */
import type { voice } from '@livekit/agents';
import type * as silero from '@livekit/agents-plugin-silero';
import type { Config } from '../config/schema.js';

type TuningConfig = Pick<
  Config,
  'AGENT_PROVIDER_TIMEOUT_MS' | 'AGENT_VAD_MIN_SILENCE_MS' | 'AGENT_ENDPOINTING_DELAY_MS' | 'AGENT_PREEMPTIVE_GENERATION' | 'AGENT_INTERRUPT_MIN_MS'
>;

/**
 * Silero VAD: AGENT_VAD_MIN_SILENCE_MS of silence ends an utterance (the framework's 550 ms adds
 * latency to every turn). 300 ms of audio before the detected start of speech covers the VAD's
 * onset lag; the framework's 500 ms only lengthens what the STT has to transcribe.
 */
export function vadTuning(config: TuningConfig): NonNullable<Parameters<typeof silero.VAD.load>[0]> {
  return { minSilenceDuration: config.AGENT_VAD_MIN_SILENCE_MS, minSpeechDuration: 50, activationThreshold: 0.5, prefixPaddingDuration: 300 };
}

export function sessionTuning(config: TuningConfig): Partial<voice.AgentSessionOptions> {
  const providerTimeoutMs = config.AGENT_PROVIDER_TIMEOUT_MS;
  return {
    turnHandling: {
      // End of turn = VAD silence; no model download, no cloud call.
      turnDetection: 'vad',
      endpointing: { mode: 'fixed', minDelay: config.AGENT_ENDPOINTING_DELAY_MS, maxDelay: Math.max(3000, config.AGENT_ENDPOINTING_DELAY_MS) },
      interruption: {
        enabled: true,
        // 'adaptive' would ask LiveKit Cloud whether overlapping speech is a real interruption.
        mode: 'vad',
        // The user must be heard for this long before the agent stops: with the WebRTC path both
        // ways, 64 (the window after the VAD's start of speech) has the agent silent 200-290 ms
        // after the user's onset, 100 about 300.
        minDuration: config.AGENT_INTERRUPT_MIN_MS,
        minWords: 0,
        // Speaking over the agent stops it for good. Resuming after a "false" interruption keys on
        // the transcript arriving within a timeout, which a busy STT server misses: the agent would
        // start talking again over the user.
        falseInterruptionTimeout: 2000,
        resumeFalseInterruption: false,
      },
      // The reply (LLM, then TTS) starts on EarlySTT's preflight transcript, while the VAD waits out the end of
      // the utterance, and plays once the turn is committed with the same transcript; if the user speaks again,
      // it is thrown away (at most maxRetries times a turn).
      preemptiveGeneration: { enabled: config.AGENT_PREEMPTIVE_GENERATION, preemptiveTts: config.AGENT_PREEMPTIVE_GENERATION },
    },
    // Browsers cancel echo themselves; the server-side warm-up would only mute interruptions.
    aecWarmupDuration: null,
    userAwayTimeout: null,
    connOptions: {
      sttConnOptions: { maxRetry: 0, retryIntervalMs: 0, timeoutMs: providerTimeoutMs },
      llmConnOptions: { maxRetry: 1, retryIntervalMs: 200, timeoutMs: providerTimeoutMs },
      ttsConnOptions: { maxRetry: 0, retryIntervalMs: 0, timeoutMs: providerTimeoutMs },
      // A provider outage must not end the conversation: apologise and carry on instead.
      maxUnrecoverableErrors: Number.MAX_SAFE_INTEGER,
    },
  };
}
