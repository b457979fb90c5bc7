/**
 * Speech-to-text that starts transcribing at the user's first pause instead of at the end of the
 * utterance.
 *
 * A non-streaming STT (local Whisper, or OpenAI's HTTP endpoint) can only transcribe once the audio
 * is complete. The framework's `stt.StreamAdapter` waits for the VAD to end the utterance, which
 * takes AGENT_VAD_MIN_SILENCE_MS of silence, and only then sends the audio: the user waits for the
 * silence and then for the whole transcription. Here the audio heard so far is sent as soon as
 * the silence reaches `earlyMs`; if the user says nothing more before the VAD ends the utterance,
 * that transcript is the final one, so the silence and the transcription overlap. If the user
 * speaks again, the early request is cancelled and the next pause starts another.
 *
 * Events are those of `stt.StreamAdapter` (start/end of speech, one final transcript per utterance),
 * so the session's turn-taking is unchanged.
 */
import { type APIConnectOptions, stt, type VAD, type VADEvent, VADEventType, type VADStream } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';

export interface EarlySTTOptions {
  /** The non-streaming STT that transcribes (ResilientSTT around the provider). */
  inner: stt.STT;
  vad: VAD;
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
  readonly #vadStream: VADStream;
  /** The utterance's audio so far: the VAD's speech buffer at its start, then each window. */
  #frames: AudioFrame[] = [];
  #bufferedMs = 0;
  #inSpeech = false;
  #early: EarlyRequest | undefined;

  constructor(owner: EarlySTT, options: Required<EarlySTTOptions>, connOptions?: APIConnectOptions) {
    super(owner, undefined, connOptions);
    this.#options = options;
    this.#vadStream = options.vad.stream();
    this.label = `early-stream<${options.inner.label}>`;
  }

  override close(): void {
    this.#cancelEarly();
    super.close();
    this.#vadStream.close();
  }

  // The inner STT reports its own metrics; the base class would report the stream's as well.
  protected override async monitorMetrics(): Promise<void> {}

  protected async run(): Promise<void> {
    const forward = async () => {
      for await (const input of this.input) {
        if (input === stt.SpeechStream.FLUSH_SENTINEL) this.#vadStream.flush();
        else this.#vadStream.pushFrame(input);
      }
      // No vadStream.endInput(): in agents-js 1.9 it closes a locked stream, and the rejection would
      // end the process. The VAD stream ends with close().
    };
    const recognize = async () => {
      for await (const event of this.#vadStream) await this.#onVad(event);
    };
    await Promise.all([forward(), recognize()]);
  }

  async #onVad(event: VADEvent): Promise<void> {
    switch (event.type) {
      case VADEventType.START_OF_SPEECH:
        this.#cancelEarly();
        this.#inSpeech = true;
        this.#frames = [];
        this.#bufferedMs = 0;
        // the VAD's buffer (padding + speech so far, including this window) is reused by the VAD: copied
        for (const frame of event.frames) this.#append(new AudioFrame(frame.data.slice(), frame.sampleRate, frame.channels, frame.samplesPerChannel));
        this.output.put({ type: stt.SpeechEventType.START_OF_SPEECH });
        return;
      case VADEventType.INFERENCE_DONE:
        if (!this.#inSpeech) return;
        // each window's frame is a view of audio the VAD does not reuse: kept as it is
        for (const frame of event.frames) this.#append(frame);
        if (event.rawAccumulatedSilence === 0) this.#cancelEarly();
        else if (this.#options.earlyMs > 0 && event.rawAccumulatedSilence >= this.#options.earlyMs && !this.#early) this.#startEarly();
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
    this.#early = { controller, result: this.#transcribe(this.#frames.slice(), controller.signal) };
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
