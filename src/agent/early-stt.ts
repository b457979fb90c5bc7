/**
 * Speech-to-text that starts transcribing at the user's first pause instead of at the end of the
 * utterance.
 *
 * A non-streaming STT (the local Moonshine or Whisper, or OpenAI's HTTP endpoint) can only transcribe once the audio
 * is complete. The framework's `stt.StreamAdapter` waits for the VAD to end the utterance, which
 * takes AGENT_VAD_MIN_SILENCE_MS of silence, and only then sends the audio: the user waits for the
 * silence and then for the whole transcription. Here the audio heard so far is sent as soon as
 * the silence reaches `earlyMs`; if the user says nothing more before the VAD ends the utterance,
 * that transcript is the final one, so the silence and the transcription overlap. If the user
 * speaks again, the early request is cancelled and the next pause starts another once it is twice
 * as long: a transcription already running on the server finishes unseen, so a user who pauses
 * often costs a few of them per utterance, not one per pause.
 *
 * Events are those of `stt.StreamAdapter` (start/end of speech, one final transcript per utterance),
 * so the session's turn-taking is unchanged, plus the early transcript as a preflight transcript as
 * soon as it arrives. The utterance's audio comes from the session's own VAD
 * stream (SharedVAD), so the audio the session sends this stream is only drained.
 */
import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';
import { type APIConnectOptions, stt, type VADEvent, VADEventType } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import type { SharedVAD } from './shared-vad.js';

export interface EarlySTTOptions {
  /** The non-streaming STT that transcribes (ResilientSTT around the provider). */
  inner: stt.STT;
  /** The session's VAD: this STT hears the events of the stream the session reads. */
  vad: SharedVAD;
  /** Silence inside an utterance after which the audio so far is transcribed; 0 = only at its end. */
  earlyMs: number;
  /** Longest utterance buffered for an early request; longer ones are transcribed at their end. */
  maxBufferedMs?: number;
}

export class EarlySTT extends stt.STT {
  label: string;
  readonly #options: Required<EarlySTTOptions>;

  constructor(options: EarlySTTOptions) {
    super({ streaming: true, interimResults: false });
    this.#options = { maxBufferedMs: 60_000, ...options };
    this.label = `early<${options.inner.label}>`;
    options.inner.on('metrics_collected', (metrics) => this.emit('metrics_collected', metrics));
    options.inner.on('error', (error) => this.emit('error', error));
  }

  override get model(): string {
    return this.#options.inner.model;
  }

  override get provider(): string {
    return this.#options.inner.provider;
  }

  protected _recognize(frame: AudioFrame | AudioFrame[], abortSignal?: AbortSignal): Promise<stt.SpeechEvent> {
    return this.#options.inner.recognize(frame, abortSignal);
  }

  stream(options?: { connOptions?: APIConnectOptions }): stt.SpeechStream {
    return new EarlySpeechStream(this, this.#options, options?.connOptions);
  }
}

/** A transcription started before the end of the utterance, valid while the user stays silent. */
interface EarlyRequest {
  controller: AbortController;
  result: Promise<stt.SpeechEvent | undefined>;
}

class EarlySpeechStream extends stt.SpeechStream {
  label: string;
  readonly #options: Required<EarlySTTOptions>;
  /** The session's VAD events, in the order it read them. */
  readonly #vadEvents: ReadableStream<VADEvent>;
  #vadQueue!: ReadableStreamDefaultController<VADEvent>;
  readonly #unsubscribe: () => void;
  /** The utterance's audio so far: the VAD's speech buffer at its start, then each window. */
  #frames: AudioFrame[] = [];
  #bufferedMs = 0;
  #inSpeech = false;
  #early: EarlyRequest | undefined;
  /** The silence that starts an early request in this utterance (doubles at each one cancelled). */
  #earlyMs = 0;

  constructor(owner: EarlySTT, options: Required<EarlySTTOptions>, connOptions?: APIConnectOptions) {
    super(owner, undefined, connOptions);
    this.#options = options;
    this.label = `early-stream<${options.inner.label}>`;
    this.#vadEvents = new ReadableStream<VADEvent>({
      start: (controller) => {
        this.#vadQueue = controller;
      },
    });
    this.#unsubscribe = options.vad.subscribe((event) => {
      // (runs inside the session's VAD loop: never throws, even once this stream has stopped reading)
      try {
        this.#vadQueue.enqueue(owned(event));
      } catch {}
    });
  }

  override close(): void {
    if (this.closed) return;
    this.#unsubscribe();
    try {
      this.#vadQueue.close();
    } catch {} // (the reader already stopped)
    this.#cancelEarly();
    super.close();
  }

  // The inner STT reports its own metrics; the base class would report the stream's as well.
  protected override async monitorMetrics(): Promise<void> {}

  protected async run(): Promise<void> {
    // The session's VAD stream hears the same audio; read so that it does not pile up.
    const drain = async () => {
      for await (const _ of this.input);
    };
    const recognize = async () => {
      for await (const event of this.#vadEvents) await this.#onVad(event);
    };
    await Promise.all([drain(), recognize()]);
  }

  async #onVad(event: VADEvent): Promise<void> {
    switch (event.type) {
      case VADEventType.START_OF_SPEECH:
        this.#cancelEarly();
        this.#inSpeech = true;
        this.#earlyMs = this.#options.earlyMs;
        this.#frames = [];
        this.#bufferedMs = 0;
        for (const frame of event.frames) this.#append(frame);
        this.output.put({ type: stt.SpeechEventType.START_OF_SPEECH });
        return;
      case VADEventType.INFERENCE_DONE:
        if (!this.#inSpeech) return;
        // each window's frame is a view of audio the VAD does not reuse: kept as it is
        for (const frame of event.frames) this.#append(frame);
        if (event.rawAccumulatedSilence === 0) {
          if (!this.#early) return;
          this.#cancelEarly();
          this.#earlyMs *= 2;
        } else if (this.#earlyMs > 0 && event.rawAccumulatedSilence >= this.#earlyMs && !this.#early) this.#startEarly();
        return;
      case VADEventType.END_OF_SPEECH: {
        this.#inSpeech = false;
        const speechEndTime = Date.now() - event.silenceDuration - event.inferenceDuration;
        this.output.put({ type: stt.SpeechEventType.END_OF_SPEECH, speechEndTime });
        const early = this.#early;
        const frames = this.#frames;
        this.#early = undefined;
        this.#frames = [];
        this.#bufferedMs = 0;
        // (not the event's frame: a view of the VAD's buffer, whose start the VAD overwrites as soon as it has sent the event)
        const result = early ? await early.result : await this.#transcribe(frames);
        if (result?.alternatives?.[0]?.text) this.output.put({ ...result, speechEndTime: result.speechEndTime ?? speechEndTime });
        return;
      }
    }
  }

  #append(frame: AudioFrame): void {
    if (this.#bufferedMs >= this.#options.maxBufferedMs) return;
    this.#frames.push(frame);
    this.#bufferedMs += (frame.samplesPerChannel / frame.sampleRate) * 1000;
  }

  #startEarly(): void {
    if (this.#bufferedMs >= this.#options.maxBufferedMs) return;
    const controller = new AbortController();
    const early: EarlyRequest = { controller, result: this.#transcribe(this.#frames.slice(), controller.signal) };
    this.#early = early;
    // Still valid when it arrives (the user has not spoken since, the VAD has not ended the utterance): the
    // session may start its reply on it (preemptive generation) while the VAD waits out the silence. Unlike a
    // final transcript, a preflight one is replaced by the next, not appended to it.
    void early.result.then((result) => {
      const alternatives = result?.alternatives;
      if (this.#early !== early || !alternatives?.[0]?.text || this.closed) return;
      this.output.put({ type: stt.SpeechEventType.PREFLIGHT_TRANSCRIPT, alternatives });
    });
  }

  #cancelEarly(): void {
    this.#early?.controller.abort();
    this.#early = undefined;
  }

  /**
   * The transcript, or undefined when cancelled, when the stream closed or when the provider failed
   * (the inner STT reports failures; the user simply has to be heard again).
   */
  async #transcribe(frames: AudioFrame[], signal?: AbortSignal): Promise<stt.SpeechEvent | undefined> {
    try {
      return await this.#options.inner.recognize(contiguous(frames), signal ? AbortSignal.any([signal, this.abortSignal]) : this.abortSignal);
    } catch {
      return undefined;
    }
  }
}

/**
 * The event as this stream keeps it. A start of speech carries the VAD's buffer (padding + speech
 * so far, including this window), which the VAD reuses: copied when the event is heard. Each
 * window's frame is audio the VAD does not reuse.
 */
function owned(event: VADEvent): VADEvent {
  if (event.type !== VADEventType.START_OF_SPEECH) return event;
  return { ...event, frames: event.frames.map((f) => new AudioFrame(f.data.slice(), f.sampleRate, f.channels, f.samplesPerChannel)) };
}

/**
 * The utterance as one frame that owns exactly its samples. The framework would merge a list of
 * frames by re-spreading the growing array for each frame (quadratic: an utterance of 2.5 s blocked
 * the job's event loop for 200-400 ms), and the OpenAI plugin uploads a frame's whole underlying
 * buffer, which for the VAD's speech buffer is a minute of audio.
 */
function contiguous(frames: AudioFrame[]): AudioFrame {
  const first = frames[0];
  if (!first) throw new RangeError('no audio to transcribe');
  const samples = new Int16Array(frames.reduce((n, f) => n + f.data.length, 0));
  let at = 0;
  for (const frame of frames) {
    samples.set(frame.data, at);
    at += frame.data.length;
  }
  return new AudioFrame(samples, first.sampleRate, first.channels, samples.length / first.channels);
}
