/**
 * Test support (not product code): a real LiveKit participant, as a user's browser would be.
 * It publishes a microphone track fed with speech samples in real time (silence in between, so
 * the agent's VAD hears pauses), records the agent's audio frame by frame with arrival times,
 * and collects transcripts from `lk.transcription` and the agent's `lk.agent.state`.
 */
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  type RemoteParticipant,
  type RemoteTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
} from '@livekit/rtc-node';
import { AccessToken, RoomAgentDispatch, RoomConfiguration } from 'livekit-server-sdk';
import { concatInt16, rms } from '../../src/audio/index.js';
import { pcmFrames } from './speech.js';

export const RATE = 48_000;
const FRAME_MS = 10;
const FRAME = (RATE * FRAME_MS) / 1000;
/** RMS above this counts as sound (Piper speech is far louder; the silence is exact zeros). */
export const SOUND_RMS = 200;
/** The first audible frame of a reply: speech onsets are quiet, so a lower bar than SOUND_RMS. */
const ONSET_RMS = 30;

export interface Transcript {
  /** Whose words: the test user's identity or the agent's. */
  speaker: 'user' | 'agent';
  text: string;
  final: boolean;
  segmentId: string;
  at: number;
}

export interface JoinOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  room: string;
  agentName: string;
  identity?: string;
  /** Participant metadata, e.g. JSON.stringify({ voice: 'en_US-joe-medium' }). */
  metadata?: string;
  /** Room metadata set when the room is created by this join. */
  roomMetadata?: string;
}

interface HeardFrame {
  at: number;
  rms: number;
  pcm: Int16Array;
}

export class TestParticipant {
  readonly transcripts: Transcript[] = [];
  readonly heard: HeardFrame[] = [];
  readonly agentStates: Array<{ state: string; at: number }> = [];
  agentIdentity: string | undefined;
  private readonly pending: Array<{ pcm: Int16Array; loud: boolean }> = [];
  private pumping = true;
  private pump: Promise<void> | undefined;
  private lastSpeechFrameAt = 0;
  private firstSpeechFrameAt = 0;
  private speechDrained: (() => void) | undefined;

  private constructor(
    readonly room: Room,
    readonly identity: string,
    private readonly source: AudioSource,
  ) {}

  static async join(options: JoinOptions): Promise<TestParticipant> {
    const identity = options.identity ?? `user-${Math.random().toString(36).slice(2, 8)}`;
    const token = new AccessToken(options.apiKey, options.apiSecret, { identity, metadata: options.metadata, ttl: '1h' });
    token.addGrant({ roomJoin: true, room: options.room, canPublish: true, canSubscribe: true, canPublishData: true });
    token.roomConfig = new RoomConfiguration({
      agents: [new RoomAgentDispatch({ agentName: options.agentName })],
      metadata: options.roomMetadata ?? '',
    });
    const room = new Room();
    const source = new AudioSource(RATE, 1, 100);
    const participant = new TestParticipant(room, identity, source);
    participant.listen();
    await room.connect(options.url, await token.toJwt(), { autoSubscribe: true, dynacast: false });
    const track = LocalAudioTrack.createAudioTrack('microphone', source);
    await room.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
    participant.pump = participant.runPump();
    return participant;
  }

  private listen(): void {
    this.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _pub, remote: RemoteParticipant) => {
      if (track.kind !== TrackKind.KIND_AUDIO) return;
      this.agentIdentity = remote.identity;
      void this.record(track);
    });
    this.room.on(RoomEvent.ParticipantAttributesChanged, (changed: Record<string, string>, who) => {
      const state = changed['lk.agent.state'];
      if (state && who.identity !== this.identity) this.agentStates.push({ state, at: performance.now() });
    });
    this.room.registerTextStreamHandler('lk.transcription', (reader, info) => {
      void reader.readAll().then(
        (text) => {
          const attributes = reader.info.attributes ?? {};
          const speaker = info.identity === this.identity ? 'user' : 'agent';
          this.transcripts.push({
            speaker,
            text,
            // The agent streams each segment as deltas and closes the stream when done; user
            // transcripts come as separate interim and final streams.
            final: speaker === 'agent' || attributes['lk.transcription_final'] === 'true',
            segmentId: attributes['lk.segment_id'] ?? '',
            at: performance.now(),
          });
        },
        () => undefined,
      ); // a stream cut off by leaving the room is not a transcript
    });
    // The agent also streams its session state; read and drop it (unhandled topics are logged per chunk).
    this.room.registerByteStreamHandler('lk.agent.session', (reader) => {
      void reader.readAll().catch(() => undefined);
    });
  }

  private async record(track: RemoteTrack): Promise<void> {
    const reader = new AudioStream(track, RATE, 1).getReader();
    for (;;) {
      const { done, value: frame } = await reader.read();
      if (done) return;
      const pcm = frame.data.slice();
      this.heard.push({ at: performance.now(), rms: rms(pcm), pcm });
    }
  }

  /** Feeds the microphone forever: queued speech first, silence otherwise. */
  private async runPump(): Promise<void> {
    const silence = new Int16Array(FRAME);
    while (this.pumping) {
      const speech = this.pending.shift();
      await this.source.captureFrame(new AudioFrame(speech?.pcm ?? silence, RATE, 1, FRAME));
      if (speech) {
        // Times of audible speech only: the synthesizer's leading and trailing silence is not talking.
        const playsAt = performance.now() + this.source.queuedDuration;
        if (speech.loud && this.firstSpeechFrameAt === 0) this.firstSpeechFrameAt = playsAt;
        if (speech.loud) this.lastSpeechFrameAt = playsAt + FRAME_MS;
        if (this.pending.length === 0) this.speechDrained?.();
      }
    }
  }

  /**
   * Speaks 48 kHz mono PCM in real time and resolves when the last sample has been handed to the
   * network, with the moments the first and last samples went out (performance.now() clock).
   */
  async say(pcm48k: Int16Array): Promise<{ startedAt: number; endedAt: number }> {
    const drained = new Promise<void>((resolve) => {
      this.speechDrained = resolve;
    });
    this.firstSpeechFrameAt = 0;
    for (const frame of pcmFrames(pcm48k, RATE, FRAME_MS)) this.pending.push({ pcm: frame, loud: rms(frame) > SOUND_RMS });
    await drained;
    return { startedAt: this.firstSpeechFrameAt, endedAt: this.lastSpeechFrameAt };
  }

  async sendChat(text: string): Promise<void> {
    await this.room.localParticipant!.sendText(text, { topic: 'lk.chat' });
  }

  /** First moment after `since` the agent's audio carried sound. */
  async firstSoundAfter(since: number, timeoutMs: number): Promise<number> {
    return waitFor(() => this.heard.find((f) => f.at > since && f.rms > ONSET_RMS)?.at, timeoutMs, 'agent audio');
  }

  /** Last moment the agent's audio carried sound, once it has been quiet for `quietMs`. */
  async soundEnd(since: number, quietMs: number, timeoutMs: number): Promise<number> {
    return waitFor(
      () => {
        const loud = this.heard.filter((f) => f.at > since && f.rms > SOUND_RMS);
        const last = loud[loud.length - 1];
        return last && performance.now() - last.at > quietMs ? last.at : undefined;
      },
      timeoutMs,
      'the agent to stop speaking',
    );
  }

  /** Milliseconds of sound the agent sent between two moments. */
  soundMs(from: number, to = Number.POSITIVE_INFINITY): number {
    return this.heard.filter((f) => f.at > from && f.at <= to && f.rms > SOUND_RMS).length * FRAME_MS;
  }

  /** The agent's audio between two moments, as 48 kHz PCM. */
  audioBetween(from: number, to: number): Int16Array {
    return concatInt16(this.heard.filter((f) => f.at > from && f.at <= to).map((f) => f.pcm));
  }

  /** The first final transcript by `speaker` after `since` matching `accept`. */
  async transcriptAfter(
    speaker: Transcript['speaker'],
    since: number,
    timeoutMs: number,
    accept: (t: Transcript) => boolean = () => true,
  ): Promise<Transcript> {
    return waitFor(
      () => this.transcripts.find((t) => t.speaker === speaker && t.at > since && t.final && t.text.trim().length > 0 && accept(t)),
      timeoutMs,
      `a final ${speaker} transcript`,
    );
  }

  async waitForAgent(timeoutMs: number): Promise<string> {
    return waitFor(() => this.agentIdentity, timeoutMs, 'the agent to join and publish audio');
  }

  async leave(): Promise<void> {
    this.pumping = false;
    await this.pump?.catch(() => undefined);
    await this.room.disconnect().catch(() => undefined);
    await this.source.close().catch(() => undefined);
  }
}

export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
