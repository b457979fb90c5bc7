import type { Logger } from '../../ops/logger.js';
import type { ServerSettings } from '../settings.js';
import { startTranscriptionServer } from './transcription-server.js';
import { WhisperEngine } from './whisper-engine.js';

/** The local speech-to-text server of one model server process: Whisper loaded, served on its port. */
export async function startSttServer(settings: Extract<ServerSettings, { role: 'stt' }>, logger: Logger): Promise<{ stop(deadline: number): Promise<void> }> {
  const engine = await WhisperEngine.load({
    modelPath: settings.modelPath,
    name: settings.name,
    threads: settings.threads,
    maxQueue: settings.maxQueue,
    logger,
  });
  try {
    const server = await startTranscriptionServer({
      host: settings.host,
      port: settings.port,
      engine,
      logger,
      maxAudioSeconds: settings.maxAudioSeconds,
      maxConcurrentRequests: settings.maxQueue + 1,
      modelName: settings.name,
      variables: 'LOCAL_MODELS_HOST, LOCAL_STT_PORT',
    });
    return {
      async stop(deadline) {
        await server.stop(deadline);
        await engine.dispose(Math.max(0, deadline - Date.now()));
      },
    };
  } catch (err) {
    await engine.dispose(0);
    throw err;
  }
}
