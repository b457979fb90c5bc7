import { voice } from '@livekit/agents';
import type { JobEvent } from './control-channel.js';

export type Stage = Extract<JobEvent, { type: 'stage' }>['stage'];

/** Forwards the framework's per-turn metrics as the stage timings the main process records. */
export function reportStages(session: voice.AgentSession, onStage: (stage: Stage, ms: number) => void): void {
  session.on(voice.AgentSessionEventTypes.MetricsCollected, ({ metrics }) => {
    const stage = (name: Stage, ms: number | undefined) => {
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) onStage(name, ms);
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
}
