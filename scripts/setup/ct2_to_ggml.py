#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model folder (model.bin format v6 + vocabulary.txt) into whisper.cpp's ggml .bin.

Install-time only (scripts/setup/whisper.sh). Python standard library only, no numpy: every tensor is copied as it
is stored (fp16 stays fp16, so an fp16 CTranslate2 model converts losslessly); the few tensors whisper.cpp wants in
fp32 (1-D ones, conv biases, positional embeddings) are widened exactly. The mel filterbank whisper.cpp reads from
the file is computed here like librosa.filters.mel(sr=16000, n_fft=400, htk=False, norm='slaney'), which is what
Whisper uses.

Usage: python3 ct2_to_ggml.py CT2_DIR OUT.bin
"""
import math
import os
import struct
import sys
from array import array

# CTranslate2 dtype codes -> (struct format character, item size)
DTYPES = {0: ('f', 4), 1: ('b', 1), 2: ('h', 2), 3: ('i', 4), 4: ('e', 2)}
F32, F16 = 0, 4
GGML_MAGIC = 0x67676D6C


class ConversionError(Exception):
    pass


class Tensor:
    __slots__ = ('shape', 'dtype', 'data')

    def __init__(self, shape, dtype, data):
        self.shape, self.dtype, self.data = tuple(shape), dtype, data

    def values(self):
        fmt, size = DTYPES[self.dtype]
        return struct.unpack('<%d%s' % (len(self.data) // size, fmt), self.data)

    def scalar(self):
        (value,) = self.values()
        return value

    def split(self, parts):
        """Splits along the first axis (rows are contiguous, so this is a byte split)."""
        if self.shape[0] % parts:
            raise ConversionError('cannot split a tensor of shape %s in %d' % (self.shape, parts))
        step = len(self.data) // parts
        shape = (self.shape[0] // parts,) + self.shape[1:]
        return [Tensor(shape, self.dtype, self.data[i * step:(i + 1) * step]) for i in range(parts)]

    def reshaped(self, shape):
        return Tensor(shape, self.dtype, self.data)

    def as_dtype(self, dtype):
        """The same values stored as fp32 or fp16 (round to nearest even, as a C cast does)."""
        if dtype == self.dtype:
            return self.data
        values = self.values()
        if dtype == F32:
            return array('f', values).tobytes() if sys.byteorder == 'little' else struct.pack('<%df' % len(values), *values)
        try:
            return struct.pack('<%de' % len(values), *values)
        except OverflowError:
            raise ConversionError('a weight does not fit in fp16') from None


def read_ct2(path):
    with open(path, 'rb') as f:
        blob = memoryview(f.read())
    at = 0

    def take(n):
        nonlocal at
        if at + n > len(blob):
            raise ConversionError('model.bin is cut short')
        chunk = blob[at:at + n]
        at += n
        return chunk

    def u32():
        return struct.unpack('<I', take(4))[0]

    def string():
        n = struct.unpack('<H', take(2))[0]
        return bytes(take(n)).rstrip(b'\0').decode('utf-8')

    version = u32()
    if version != 6:
        raise ConversionError('expected CTranslate2 model.bin format version 6, found %d' % version)
    spec = string()
    u32()  # spec revision
    variables = {}
    for _ in range(u32()):
        name = string()
        rank = take(1)[0]
        shape = struct.unpack('<%dI' % rank, take(4 * rank))
        dtype = take(1)[0]
        if dtype not in DTYPES:
            raise ConversionError('unsupported CTranslate2 dtype %d in %s' % (dtype, name))
        size = u32()
        variables[name] = Tensor(shape, dtype, take(size))
    for _ in range(u32()):  # aliases
        alias, target = string(), string()
        variables[alias] = variables[target]
    return spec, variables


def mel_filters(n_mels, sr=16000, n_fft=400):
    """Slaney-scale, Slaney-normalized triangular filters, float64 arithmetic as librosa does, rounded to fp32."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0

    def hz2mel(hz):
        return min_log_mel + math.log(max(hz, 1e-10) / min_log_hz) / logstep if hz >= min_log_hz else hz / f_sp

    def mel2hz(m):
        return min_log_hz * math.exp(logstep * (m - min_log_mel)) if m >= min_log_mel else f_sp * m

    n_freq = 1 + n_fft // 2
    fft = [i * ((sr / 2) / (n_freq - 1)) for i in range(n_freq)]
    fft[-1] = sr / 2
    lo, hi = hz2mel(0.0), hz2mel(sr / 2)
    step = (hi - lo) / (n_mels + 1)
    mels = [lo + i * step for i in range(n_mels + 2)]
    mels[-1] = hi
    mel_f = [mel2hz(m) for m in mels]
    fdiff = [mel_f[i + 1] - mel_f[i] for i in range(n_mels + 1)]
    out = array('f')
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        for j in range(n_freq):
            lower = -(mel_f[i] - fft[j]) / fdiff[i]
            upper = (mel_f[i + 2] - fft[j]) / fdiff[i + 1]
            weight = min(lower, upper)
            # not max(0.0, weight): a -0.0 weight stays -0.0, as numpy's maximum leaves it (byte-identical output)
            out.append((weight if weight >= 0.0 else 0.0) * enorm)
    return n_mels, n_freq, out


def byte_decoder():
    """GPT-2's table from printable unicode characters back to the bytes they stand for."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def convert(src, out):
    spec, V = read_ct2(os.path.join(src, 'model.bin'))
    if 'decoder/embeddings/weight' not in V or 'encoder/conv1/weight' not in V:
        raise ConversionError('%s is not a Whisper model (spec %s)' % (os.path.join(src, 'model.bin'), spec))

    def n_layers(side):
        prefix = side + '/layer_'
        return 1 + max(int(k[len(prefix):].split('/')[0]) for k in V if k.startswith(prefix) and k[len(prefix)].isdigit())

    emb = V['decoder/embeddings/weight']
    n_vocab, n_state = emb.shape
    hp = [
        ('n_vocab', n_vocab),
        ('n_audio_ctx', V['encoder/position_encodings/encodings'].shape[0]),
        ('n_audio_state', n_state),
        ('n_audio_head', int(V['encoder/num_heads'].scalar())),
        ('n_audio_layer', n_layers('encoder')),
        ('n_text_ctx', V['decoder/position_encodings/encodings'].shape[0]),
        ('n_text_state', n_state),
        ('n_text_head', int(V['decoder/num_heads'].scalar())),
        ('n_text_layer', n_layers('decoder')),
        ('n_mels', V['encoder/conv1/weight'].shape[1]),
    ]
    params = dict(hp)

    decoder = byte_decoder()
    with open(os.path.join(src, 'vocabulary.txt'), encoding='utf-8') as f:
        vocab = [line.rstrip('\n') for line in f]
    if '<|endoftext|>' not in vocab:
        raise ConversionError('vocabulary.txt has no <|endoftext|> token')
    tokens = [bytes(decoder[ch] for ch in t) for t in vocab[:vocab.index('<|endoftext|>')]]

    T = []  # (ggml name, tensor), in whisper.cpp's order

    def put(name, tensor):
        T.append((name, tensor))

    def attn(dst, srcp, fused_qkv):
        if fused_qkv:  # self-attention: linear_0 = [q;k;v], linear_1 = out
            q, k, v = V[srcp + '/linear_0/weight'].split(3)
            bq, bk, bv = V[srcp + '/linear_0/bias'].split(3)
            o = 'linear_1'
        else:  # cross-attention: linear_0 = q, linear_1 = [k;v], linear_2 = out
            q, bq = V[srcp + '/linear_0/weight'], V[srcp + '/linear_0/bias']
            k, v = V[srcp + '/linear_1/weight'].split(2)
            bk, bv = V[srcp + '/linear_1/bias'].split(2)
            o = 'linear_2'
        if any(x != 0 for x in bk.values()):
            raise ConversionError('Whisper keys have no bias, but %s has one' % srcp)
        put(dst + '.query.weight', q)
        put(dst + '.query.bias', bq)
        put(dst + '.key.weight', k)
        put(dst + '.value.weight', v)
        put(dst + '.value.bias', bv)
        put(dst + '.out.weight', V['%s/%s/weight' % (srcp, o)])
        put(dst + '.out.bias', V['%s/%s/bias' % (srcp, o)])

    def ln(dst, srcp):
        put(dst + '.weight', V[srcp + '/gamma'])
        put(dst + '.bias', V[srcp + '/beta'])

    def mlp(dst, srcp):
        ln(dst + '.mlp_ln', srcp + '/ffn/layer_norm')
        put(dst + '.mlp.0.weight', V[srcp + '/ffn/linear_0/weight'])
        put(dst + '.mlp.0.bias', V[srcp + '/ffn/linear_0/bias'])
        put(dst + '.mlp.2.weight', V[srcp + '/ffn/linear_1/weight'])
        put(dst + '.mlp.2.bias', V[srcp + '/ffn/linear_1/bias'])

    put('encoder.positional_embedding', V['encoder/position_encodings/encodings'])
    for c in ('conv1', 'conv2'):
        put('encoder.%s.weight' % c, V['encoder/%s/weight' % c])
        bias = V['encoder/%s/bias' % c]
        put('encoder.%s.bias' % c, bias.reshaped((bias.shape[0], 1)))
    for i in range(params['n_audio_layer']):
        d, s = 'encoder.blocks.%d' % i, 'encoder/layer_%d' % i
        attn(d + '.attn', s + '/self_attention', True)
        ln(d + '.attn_ln', s + '/self_attention/layer_norm')
        mlp(d, s)
    ln('encoder.ln_post', 'encoder/layer_norm')
    put('decoder.positional_embedding', V['decoder/position_encodings/encodings'])
    put('decoder.token_embedding.weight', emb)
    for i in range(params['n_text_layer']):
        d, s = 'decoder.blocks.%d' % i, 'decoder/layer_%d' % i
        attn(d + '.attn', s + '/self_attention', True)
        ln(d + '.attn_ln', s + '/self_attention/layer_norm')
        attn(d + '.cross_attn', s + '/attention', False)
        ln(d + '.cross_attn_ln', s + '/attention/layer_norm')
        mlp(d, s)
    ln('decoder.ln', 'decoder/layer_norm')

    always_f32 = {'encoder.conv1.bias', 'encoder.conv2.bias', 'encoder.positional_embedding', 'decoder.positional_embedding'}
    n_mels, n_freq, filters = mel_filters(params['n_mels'])
    with open(out, 'wb') as o:
        o.write(struct.pack('<i', GGML_MAGIC))
        for _, value in hp:
            o.write(struct.pack('<i', value))
        o.write(struct.pack('<i', 1))  # ftype: mostly fp16
        o.write(struct.pack('<ii', n_mels, n_freq))
        o.write(filters.tobytes() if sys.byteorder == 'little' else struct.pack('<%df' % len(filters), *filters))
        o.write(struct.pack('<i', len(tokens)))
        for t in tokens:
            o.write(struct.pack('<i', len(t)))
            o.write(t)
        for name, tensor in T:
            f32 = len(tensor.shape) < 2 or name in always_f32
            data = tensor.as_dtype(F32 if f32 else F16)
            encoded = name.encode('utf-8')
            o.write(struct.pack('<iii', len(tensor.shape), len(encoded), 0 if f32 else 1))
            for dim in reversed(tensor.shape):
                o.write(struct.pack('<i', dim))
            o.write(encoded)
            o.write(data)
    print('converted %s: %d tensors, %d tokens, %s' % (spec, len(T), len(tokens), ', '.join('%s=%d' % kv for kv in hp)))


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: ct2_to_ggml.py CT2_DIR OUT.bin')
    try:
        convert(sys.argv[1], sys.argv[2])
    except (ConversionError, KeyError, OSError) as err:
        sys.exit('ct2_to_ggml: %s: %s' % (type(err).__name__, err))


if __name__ == '__main__':
    main()
