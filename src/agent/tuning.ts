/**
 * Turn-taking choices, in one place. Everything here runs locally: leaving `turnDetection` or the
 * interruption mode unset would make agents-js build detectors that call LiveKit Cloud.
 */
import type { voice } from '@livekit/agents';
import type * as silero from '@livekit/agents-plugin-silero';

/** Silero VAD: a 400 ms pause ends an utterance (the default 550 ms adds latency to every turn). */
export const VAD_TUNING: NonNullable<Parameters<typeof silero.VAD.load>[0]> = {
  minSilenceDuration: 400,
  minSpeechDuration: 50,
  activationThreshold: 0.5,
};

export function SESSION_TUNING(providerTimeoutMs: number): Partial<voice.AgentSessionOptions> {
  return {
    turnHandling: {
      // End of turn = VAD silence; no model download, no cloud call.
      turnDetection: 'vad',
      endpointing: { mode: 'fixed', minDelay: 300, maxDelay: 3000 },
      interruption: {
        enabled: true,
        // 'adaptive' would ask LiveKit Cloud whether overlapping speech is a real interruption.
        mode: 'vad',
        // The user must be heard for this long before the agent stops: short enough to stop within
        // half a second, long enough that a cough does not.
        minDuration: 150,
        minWords: 0,
        // Speaking over the agent stops it for good. Resuming after a "false" interruption keys on
        // the transcript arriving within a timeout, which a busy STT server misses: the agent would
        // start talking again over the user.
        falseInterruptionTimeout: 2000,
        resumeFalseInterruption: false,
      },
      // The LLM starts only once the turn is committed: simpler accounting, no wasted CPU.
      preemptiveGeneration: { enabled: false },
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
