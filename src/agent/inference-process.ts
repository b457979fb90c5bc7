import { InferenceRunner } from '@livekit/agents';

/** The framework's method name for its local audio end-of-turn model. */
const AUDIO_EOT_METHOD = 'lk_eot_audio';

/**
 * agents-js starts an inference process (about 350 MB) for its audio end-of-turn model whenever its
 * native binding loads, one per worker. Turn detection here is VAD, so that process would sit idle:
 * the method is marked as taken, invisibly to the framework's "any runners registered?" check.
 * Call before the first worker is created.
 */
export function skipUnusedInferenceProcess(): void {
  const runners = InferenceRunner.registeredRunners as Record<string, unknown>;
  if (AUDIO_EOT_METHOD in runners) return;
  Object.defineProperty(runners, AUDIO_EOT_METHOD, { value: 'not used: turn detection is VAD', enumerable: false });
}
