import type { VoiceCatalog, VoiceInfo } from '../speech/voices.js';

const PIPER = { name: 'rhasspy', url: 'https://github.com/rhasspy/piper' };
const SERVICE = { name: 'voice-orchestrator', url: '' };

/** The `info` event's data: one text-to-speech program with the installed voices, streaming supported. */
export async function describeService(catalog: VoiceCatalog, version: string): Promise<Record<string, unknown>> {
  const voices = await catalog.list();
  return {
    asr: [],
    tts: [
      {
        name: 'voice-orchestrator-piper',
        attribution: SERVICE,
        installed: true,
        description: 'Piper text to speech (voice-orchestrator)',
        version,
        voices: voices.map(voiceArtifact),
        supports_synthesize_streaming: true,
      },
    ],
    handle: [],
    intent: [],
    wake: [],
    mic: [],
    snd: [],
  };
}

function voiceArtifact(voice: VoiceInfo): Record<string, unknown> {
  return {
    name: voice.name,
    attribution: PIPER,
    installed: true,
    description: voice.name,
    version: null,
    languages: [voice.language],
    speakers: voice.speakers.length > 0 ? voice.speakers.map((name) => ({ name })) : null,
  };
}
