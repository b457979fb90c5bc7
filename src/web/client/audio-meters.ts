import type { LocalTrackPublication } from 'livekit-client';
import { LevelMeter } from './level-meter.js';
import { setLevel, ui } from './view.js';

let audioContext: AudioContext | undefined;
let micMeter: LevelMeter | undefined;
let agentMeter: { meter: LevelMeter; trackSid: string } | undefined;

export function ensureAudioContext(): AudioContext {
  audioContext ??= new AudioContext();
  if (audioContext.state === 'suspended') void audioContext.resume();
  return audioContext;
}

export function startMicMeter(publication: LocalTrackPublication | undefined): void {
  micMeter?.stop();
  micMeter = undefined;
  const track = publication?.track?.mediaStreamTrack;
  if (track) micMeter = new LevelMeter(ensureAudioContext(), track, (level) => setLevel(ui.micLevel, level));
}

export function startAgentMeter(track: MediaStreamTrack, trackSid: string): void {
  agentMeter?.meter.stop();
  const meter = new LevelMeter(ensureAudioContext(), track, (level) => {
    setLevel(ui.agentLevel, level);
    ui.orb.style.setProperty('--level', level.toFixed(3));
  });
  agentMeter = { meter, trackSid };
}

export function stopAgentMeter(trackSid: string | undefined): void {
  if (agentMeter && agentMeter.trackSid === trackSid) {
    agentMeter.meter.stop();
    agentMeter = undefined;
  }
}

export function stopMeters(): void {
  micMeter?.stop();
  micMeter = undefined;
  agentMeter?.meter.stop();
  agentMeter = undefined;
}
