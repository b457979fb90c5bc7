import type { SpeechService } from '../speech/service.js';
import type { FrameSender } from './frame-sender.js';
import { UtteranceFramer } from './frames.js';
import type { ErrorCode } from './protocol.js';
import type { Utterance } from './utterance.js';

export type SpeakOutcome = { kind: 'completed' } | { kind: 'cancelled' } | { kind: 'failed'; code: ErrorCode; message: string; err: unknown };

export interface SpeakerDeps {
  speech: SpeechService;
  sender: FrameSender;
  /** Called after each frame of the utterance leaves. */
  onFrame(utterance: Utterance, sequence: number): void;
}

/**
 * Speaks one utterance: its text becomes speech chunk by chunk (each inference takes a turn on
 * the speech service's shared scheduler), resampled to 48 kHz 20 ms frames handed to the sender as they are made.
 */
export async function speak(utterance: Utterance, deps: SpeakerDeps): Promise<SpeakOutcome> {
  const { signal } = utterance;
  let sampleRate: number;
  try {
    sampleRate = await deps.speech.sampleRate(utterance.voice);
  } catch (err) {
    return utterance.voice
      ? { kind: 'failed', code: 'VOICE_UNAVAILABLE', message: `voice ${JSON.stringify(utterance.voice)} is not available`, err }
      : { kind: 'failed', code: 'WORKER_UNAVAILABLE', message: 'the speech engine is not available', err };
  }
  const framer = new UtteranceFramer(sampleRate);
  const onSent = (sequence: number) => deps.onFrame(utterance, sequence);
  try {
    const chunks = deps.speech.synthesize({
      text: utterance.text,
      protocol: 'legacy',
      ...(utterance.voice ? { voice: utterance.voice } : {}),
      ...(utterance.speed ? { speed: utterance.speed } : {}),
      signal,
    });
    for await (const chunk of chunks) {
      if (signal.aborted) return { kind: 'cancelled' };
      utterance.chunkSynthesized(chunk.synthesisMs);
      // resample and send in short slices: the first frame leaves without waiting for the whole chunk
      const slice = Math.max(1, Math.round(chunk.sampleRate / 10));
      for (let offset = 0; offset < chunk.pcm.length; offset += slice) {
        if (!(await deps.sender.sendFrames(framer.push(chunk.pcm.subarray(offset, offset + slice)), signal, onSent))) return { kind: 'cancelled' };
      }
    }
    if (!(await deps.sender.sendFrames(framer.flush(), signal, onSent))) return { kind: 'cancelled' };
    return { kind: 'completed' };
  } catch (err) {
    if (signal.aborted) return { kind: 'cancelled' };
    return { kind: 'failed', code: 'SYNTHESIS_FAILED', message: 'speech synthesis failed for this text', err };
  }
}
