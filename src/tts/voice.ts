import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { downloadHint, InvalidVoiceNameError, UnknownSpeakerError, VoiceLoadError, VoiceNotFoundError } from './errors.js';
import { InferenceWorker } from './inference-worker.js';
import type { ModelRewrite } from './model-rewrites.js';
import { type VoiceConfig, toVoiceConfig, voiceConfigSchema } from './voice-config.js';

export interface LoadVoiceOptions {
  /** onnxruntime intra-op threads (0 = runtime default). */
  intraOpThreads?: number;
  /** onnxruntime thread spinning during an inference (default on; PiperEngine passes its setting). */
  allowSpinning?: boolean;
  /** Compute the duration predictor's splines densely (spline.ts; default off; PiperEngine passes its setting). */
  denseSplines?: boolean;
  /** Compute the text encoder's relative-position attention densely (relative-attention.ts; default off; PiperEngine passes its setting). */
  denseAttention?: boolean;
  /** Fuse the model's layer normalizations (layer-norm.ts; default off; PiperEngine passes its setting). */
  fuseLayerNorms?: boolean;
  /** Run the model's wide 1-D convolutions as 2-D ones (conv2d.ts; default off; PiperEngine passes its setting). */
  widenConvolutions?: boolean;
  /** Run the decoder's last stages as time slices on several threads (decoder-tail.ts; default off; PiperEngine passes its setting). */
  parallelDecoder?: boolean;
}

export interface InferenceScales {
  noiseScale: number;
  lengthScale: number;
  noiseW: number;
}

/** A loaded Piper voice: its settings and an onnxruntime session. */
export class PiperVoice {
  private released = false;

  constructor(
    readonly name: string,
    readonly config: VoiceConfig,
    private readonly worker: InferenceWorker,
  ) {}

  /** How the model was rewritten at load (model-rewrites.ts; none: the file as it is). */
  get modelRewrites(): readonly ModelRewrite[] {
    return this.worker.rewrites;
  }

  get sampleRate(): number {
    return this.config.sampleRate;
  }

  /** False once its inference thread died (the voice must be loaded again) or it was released. */
  get alive(): boolean {
    return !this.released && this.worker.alive;
  }

  /** `listener` runs once if the inference thread dies unexpectedly (not after release()). */
  onDeath(listener: (err: Error) => void): void {
    this.worker.onDeath(listener);
  }

  /** Speaker name or id -> id (the voice's default when undefined); throws UnknownSpeakerError. */
  resolveSpeaker(speaker: string | number | undefined): number | undefined {
    if (this.config.numSpeakers <= 1) return undefined;
    if (speaker === undefined) return this.config.defaultSpeakerId;
    if (typeof speaker === 'number') {
      if (Number.isInteger(speaker) && speaker >= 0 && speaker < this.config.numSpeakers) return speaker;
    } else {
      const byName = this.config.speakerIdMap[speaker];
      if (byName !== undefined) return byName;
      if (/^\d+$/.test(speaker)) return this.resolveSpeaker(Number(speaker));
    }
    const names = Object.keys(this.config.speakerIdMap).slice(0, 10).join(', ');
    throw new UnknownSpeakerError(
      `voice ${this.name} has no speaker ${JSON.stringify(speaker)} (ids 0..${this.config.numSpeakers - 1}${names ? `; names: ${names}` : ''})`,
      this.name,
    );
  }

  /** Runs the model on one sentence's ids; returns float samples at `sampleRate`. */
  async infer(ids: readonly number[], scales: InferenceScales, speakerId: number | undefined): Promise<Float32Array> {
    if (this.released) throw new VoiceLoadError(`voice ${this.name} was unloaded`, this.name);
    return this.worker.run({
      ids: Int32Array.from(ids),
      scales: Float32Array.of(scales.noiseScale, scales.lengthScale, scales.noiseW),
      speakerId,
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.worker.close();
  }
}

export function voicePaths(voicesDir: string, name: string): { model: string; config: string } {
  const model = join(voicesDir, `${name}.onnx`);
  return { model, config: `${model}.json` };
}

const VOICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

/** Whether `name` can be a voice file stem (letters, digits, `_ . -`, no `..`, at most 200 characters). */
export function isVoiceName(name: unknown): name is string {
  return typeof name === 'string' && VOICE_NAME.test(name) && !name.includes('..');
}

/** Display form of a voice name that may be hostile (bounded, quoted). */
function shown(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

/**
 * Cheap check that `name` is an installed voice (a safe file stem with both files in `voicesDir`),
 * without reading or loading anything. Throws InvalidVoiceNameError or VoiceNotFoundError.
 */
export async function checkVoiceInstalled(voicesDir: string, name: string): Promise<void> {
  if (!isVoiceName(name)) {
    throw new InvalidVoiceNameError(`${shown(String(name))} is not a voice name (expected something like en_US-lessac-medium)`, String(name));
  }
  const paths = voicePaths(voicesDir, name);
  for (const file of [paths.model, paths.config]) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new VoiceNotFoundError(`voice ${name} is not installed: ${basename(file)} is missing from VOICES_DIR; ${downloadHint(name)}`, name);
    }
  }
}

/**
 * Loads `NAME.onnx` + `NAME.onnx.json` from `voicesDir`. Throws VoiceNotFoundError (with the
 * download command) or VoiceLoadError (corrupt files); never anything else for bad files.
 */
export async function loadVoice(voicesDir: string, name: string, options: LoadVoiceOptions = {}): Promise<PiperVoice> {
  await checkVoiceInstalled(voicesDir, name);
  const paths = voicePaths(voicesDir, name);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(paths.config, 'utf8'));
  } catch (err) {
    throw new VoiceLoadError(
      `voice ${name}: ${basename(paths.config)} is not valid JSON (${(err as Error).message}); re-download it: ${downloadHint(name)}`,
      name,
    );
  }
  const parsed = voiceConfigSchema.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new VoiceLoadError(`voice ${name}: ${basename(paths.config)} is not a Piper voice config (${why})`, name);
  }
  const config = toVoiceConfig(parsed.data);
  let worker: InferenceWorker;
  try {
    worker = await InferenceWorker.start(paths.model, {
      intraOpNumThreads: options.intraOpThreads ?? 0,
      allowSpinning: options.allowSpinning ?? true,
      denseSplines: options.denseSplines ?? false,
      denseAttention: options.denseAttention ?? false,
      fuseLayerNorms: options.fuseLayerNorms ?? false,
      widenConvolutions: options.widenConvolutions ?? false,
      parallelDecoder: options.parallelDecoder ?? false,
    });
  } catch (err) {
    throw new VoiceLoadError(
      `voice ${name}: ${basename(paths.model)} is not a loadable ONNX model (${firstLine((err as Error).message)}); re-download it: ${downloadHint(name)}`,
      name,
    );
  }
  const expected = ['input', 'input_lengths', 'scales', ...(config.numSpeakers > 1 ? ['sid'] : [])];
  const missing = expected.filter((n) => !worker.inputNames.includes(n));
  if (missing.length > 0 || worker.outputNames.length === 0) {
    await worker.close();
    throw new VoiceLoadError(
      `voice ${name}: the model lacks Piper's inputs (${missing.join(', ') || 'no output'}); its inputs are ${worker.inputNames.join(', ')}`,
      name,
    );
  }
  return new PiperVoice(name, config, worker);
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 300);
}
