/**
 * The phonemizer process: espeak-ng (native code, see espeak.ts) runs here, not in the service,
 * so a crash inside the library ends only this process. Started by PhonemizerProcess
 * (phonemizer.ts) with child_process.fork; it exits when its parent goes away.
 *
 * Protocol (IPC messages, one request at a time):
 *   parent -> child  { type: 'phonemize', id, text, voice }
 *   child  -> parent { type: 'result', id, sentences: [{ text, phonemes }] }
 *                  | { type: 'error', id, message }
 *   child  -> parent { type: 'ready' } once, after start-up
 * espeak-ng is loaded on the first request with the options in the VO_PHONEMIZER_OPTIONS variable (JSON: library, dataPath).
 */
import { Espeak, type EspeakOptions } from './espeak.js';
import type { PhonemizerReply, PhonemizerRequest } from './phonemizer.js';

const send = (msg: PhonemizerReply) => process.send?.(msg);

function options(): EspeakOptions {
  try {
    const parsed = JSON.parse(process.env['VO_PHONEMIZER_OPTIONS'] ?? '{}') as EspeakOptions;
    return { library: parsed.library || undefined, dataPath: parsed.dataPath || undefined };
  } catch {
    return {};
  }
}

if (!process.send) {
  process.stderr.write('phonemizer-child: must be started with an IPC channel (child_process.fork)\n');
  process.exit(2);
}

const espeakOptions = options();
process.on('message', (msg: PhonemizerRequest) => {
  if (msg?.type !== 'phonemize') return;
  try {
    const sentences = Espeak.get(espeakOptions).phonemizeSentences(msg.text, msg.voice);
    send({ type: 'result', id: msg.id, sentences });
  } catch (err) {
    send({ type: 'error', id: msg.id, message: (err as Error).message ?? String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
