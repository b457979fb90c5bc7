import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { EngineConfig } from '../../../src/tts/engine.js';

const { onnx } = onnxProto;

/**
 * A tiny ONNX model with Piper's exact signature, for deterministic unit tests:
 * inputs `input` int64 [1,N], `input_lengths` int64 [1], `scales` float32 [3] (+ `sid` int64 [1]);
 * output float32 [1,1,T] with T = floor(input_lengths * 256 * length_scale) samples of a sine whose
 * frequency moves with the sum of the ids and with the speaker id, so tests can tell inputs apart.
 */
export const HOP = 256;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, elemType: number, dims: Array<number | string>) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatConst(name: string, value: number) {
  return { name, dataType: FLOAT, dims: [], floatData: [value] };
}

function node(opType: string, inputs: string[], outputs: string[], attribute: object[] = []) {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute };
}

export function buildTinyPiperModel(multiSpeaker: boolean): Uint8Array {
  const nodes = [
    // T = floor(len * 256 * length_scale)
    node('Gather', ['scales', 'one_i'], ['length_scale']),
    node('Cast', ['input_lengths'], ['len_f'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
    node('Mul', ['len_f', 'hop'], ['frames_hop']),
    node('Mul', ['frames_hop', 'length_scale'], ['t_raw']),
    node('Floor', ['t_raw'], ['t_floor']),
    node('Squeeze', ['t_floor'], ['t_scalar']),
    node('Range', ['zero', 't_scalar', 'one'], ['n']),
    // frequency = 0.05 + 0.0001 * sum(ids) (+ 0.02 * sid)
    node('Cast', ['input'], ['ids_f'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
    node('ReduceSum', ['ids_f'], ['ids_sum'], [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
    node('Mul', ['ids_sum', 'id_weight'], ['id_part']),
    node('Add', ['base_freq', 'id_part'], multiSpeaker ? ['freq_ids'] : ['freq']),
    ...(multiSpeaker
      ? [
          node('Cast', ['sid'], ['sid_f'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
          node('Squeeze', ['sid_f'], ['sid_scalar']),
          node('Mul', ['sid_scalar', 'sid_weight'], ['sid_part']),
          node('Add', ['freq_ids', 'sid_part'], ['freq']),
        ]
      : []),
    node('Mul', ['n', 'freq'], ['phase']),
    node('Sin', ['phase'], ['wave']),
    node('Mul', ['wave', 'amplitude'], ['audio']),
    node('Unsqueeze', ['audio', 'axes01'], ['output']),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'voice-orchestrator-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny_piper',
      node: nodes,
      initializer: [
        { name: 'one_i', dataType: INT64, dims: [], int64Data: [1] },
        { name: 'axes01', dataType: INT64, dims: [2], int64Data: [0, 1] },
        floatConst('hop', HOP),
        floatConst('zero', 0),
        floatConst('one', 1),
        floatConst('base_freq', 0.05),
        floatConst('id_weight', 0.0001),
        floatConst('sid_weight', 0.02),
        floatConst('amplitude', 0.4),
      ],
      input: [
        valueInfo('input', INT64, [1, 'phonemes']),
        valueInfo('input_lengths', INT64, [1]),
        valueInfo('scales', FLOAT, [3]),
        ...(multiSpeaker ? [valueInfo('sid', INT64, [1])] : []),
      ],
      output: [valueInfo('output', FLOAT, [1, 1, 'time'])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Symbols the tiny voices know: enough IPA for English and the ASCII letters for `text` voices. */
const SYMBOLS = Array.from(
  " !'(),-.:;?abcdefhijklmnopqrstuvwxyzæçðøħŋœɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ0123456789\u0303\u0327ABCDEFGHIJKLMNOPQRSTUVWXYZg",
);

export function tinyVoiceConfig(options: { multiSpeaker?: boolean; phonemeType?: 'espeak' | 'text'; sampleRate?: number } = {}) {
  const idMap: Record<string, number[]> = { _: [0], '^': [1], $: [2] };
  SYMBOLS.forEach((s, i) => {
    idMap[s] ??= [3 + i];
  });
  return {
    audio: { sample_rate: options.sampleRate ?? 16000, quality: 'x_low' },
    espeak: { voice: 'en-us' },
    inference: { noise_scale: 0.667, length_scale: 1, noise_w: 0.8 },
    phoneme_type: options.phonemeType ?? 'espeak',
    phoneme_id_map: idMap,
    num_symbols: 256,
    num_speakers: options.multiSpeaker ? 3 : 1,
    speaker_id_map: options.multiSpeaker ? { alice: 0, bob: 1, carol: 2 } : {},
    piper_version: '1.0.0',
  };
}

/** Writes `NAME.onnx` + `NAME.onnx.json` for a tiny voice into `dir`. */
export async function writeTinyVoice(
  dir: string,
  name: string,
  options: { multiSpeaker?: boolean; phonemeType?: 'espeak' | 'text'; sampleRate?: number } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.onnx`), buildTinyPiperModel(options.multiSpeaker ?? false));
  await writeFile(join(dir, `${name}.onnx.json`), JSON.stringify(tinyVoiceConfig(options)));
}

/** Engine settings for the tiny voice written by writeTinyVoice into `voicesDir`. */
export function tinyEngineConfig(voicesDir: string, overrides: Partial<EngineConfig> = {}): EngineConfig {
  return {
    VOICES_DIR: voicesDir,
    TTS_VOICE: 'tiny',
    TTS_MAX_VOICES: 2,
    TTS_INTRA_OP_THREADS: 1,
    ESPEAK_LIBRARY: undefined,
    ESPEAK_DATA_PATH: undefined,
    ...overrides,
  };
}
