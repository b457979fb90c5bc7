import { basename, dirname } from 'node:path';
import type { Logger } from '../../ops/logger.js';
import { checkedMoonshineModel } from '../model-files.js';
import type { ServerSettings } from '../settings.js';
import { startTranscriptionServer } from './transcription-server.js';
import { MoonshineEngine } from './moonshine-engine.js';
import { WhisperEngine } from './whisper-engine.js';

type SttSettings = Extract<ServerSettings, { role: 'stt' }>;

function loadEngine(settings: SttSettings, logger: Logger): Promise<WhisperEngine | MoonshineEngine> {
  const common = { name: settings.name, threads: settings.threads, maxQueue: settings.maxQueue, logger };
  if (settings.engine === 'whisper') return WhisperEngine.load({ modelPath: settings.modelPath, ...common });
  const files = checkedMoonshineModel(dirname(settings.modelPath), basename(settings.modelPath), 'LOCAL_STT_MODEL');
  return MoonshineEngine.load({ files, ...common });
}

/** The local speech-to-text server of one model server process: its model loaded, served on its port. */
export async function startSttServer(settings: SttSettings, logger: Logger): Promise<{ stop(deadline: number): Promise<void> }> {
  const engine = await loadEngine(settings, logger);
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
