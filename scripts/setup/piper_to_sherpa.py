#!/usr/bin/env python3
"""Lay out a Piper voice the way sherpa-onnx's VITS loader wants it (test-side only: bench:tts's second reference).

  OUT_DIR/model.onnx   the voice's .onnx with sherpa-onnx's metadata added (model_type, comment=piper, sample_rate, ...)
  OUT_DIR/tokens.txt   "SYMBOL ID" per line, from the voice JSON's phoneme_id_map (first id of each symbol)

sherpa-onnx reads the voice's settings from ONNX model metadata (ModelProto.metadata_props, field 14) instead of the
JSON Piper ships beside the model. Python standard library only: the model is not decoded. Its top-level protobuf
fields are copied byte for byte, minus any metadata entry whose key is set here, and the new entries are appended;
a protobuf parser concatenates repeated fields, so the result is the same model with these entries in its metadata.

Usage: python3 piper_to_sherpa.py VOICE.onnx VOICE.onnx.json OUT_DIR
"""
import json
import os
import sys
import unicodedata

METADATA_FIELD = 14  # onnx.proto: ModelProto.metadata_props (repeated StringStringEntryProto {key = 1; value = 2})


class ConversionError(Exception):
    pass


def read_varint(buf, pos):
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ConversionError("truncated varint: the .onnx file is not a complete ONNX model")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ConversionError("varint too long: the .onnx file is not an ONNX model")


def varint(n):
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def length_delimited(field, payload):
    return varint((field << 3) | 2) + varint(len(payload)) + payload


def entry(key, value):
    return length_delimited(1, key.encode("utf-8")) + length_delimited(2, value.encode("utf-8"))


def entry_key(payload):
    """The key of an encoded StringStringEntryProto (None when it has none)."""
    pos = 0
    while pos < len(payload):
        tag, pos = read_varint(payload, pos)
        wire = tag & 7
        if wire == 2:
            size, pos = read_varint(payload, pos)
            if tag >> 3 == 1:
                return bytes(payload[pos : pos + size]).decode("utf-8", "replace")
            pos += size
        elif wire == 0:
            _, pos = read_varint(payload, pos)
        else:
            raise ConversionError(f"unexpected wire type {wire} in a metadata entry")
    return None


def top_level_fields(buf):
    """(field number, start, end, payload start, payload end) of each top-level field of a serialized message."""
    pos = 0
    while pos < len(buf):
        start = pos
        tag, pos = read_varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ConversionError("field number 0: the .onnx file is not an ONNX model")
        if wire == 0:
            _, pos = read_varint(buf, pos)
            yield field, start, pos, pos, pos
        elif wire == 1:
            pos += 8
            yield field, start, pos, pos, pos
        elif wire == 5:
            pos += 4
            yield field, start, pos, pos, pos
        elif wire == 2:
            size, pos = read_varint(buf, pos)
            if pos + size > len(buf):
                raise ConversionError("truncated field: the .onnx file is not a complete ONNX model")
            yield field, start, pos + size, pos, pos + size
            pos += size
        else:
            raise ConversionError(f"unexpected wire type {wire} at byte {start}: the .onnx file is not an ONNX model")
        if pos > len(buf):
            raise ConversionError("truncated field: the .onnx file is not a complete ONNX model")


def with_metadata(model, metadata):
    view = memoryview(model)
    parts = []
    for field, start, end, p_start, p_end in top_level_fields(view):
        if field == METADATA_FIELD and entry_key(view[p_start:p_end]) in metadata:
            continue  # replaced below
        parts.append(view[start:end])
    for key, value in metadata.items():
        parts.append(length_delimited(METADATA_FIELD, entry(key, str(value))))
    return parts


def tokens(config):
    id_map = config.get("phoneme_id_map")
    if not isinstance(id_map, dict) or not id_map:
        raise ConversionError("the voice JSON has no phoneme_id_map")
    lines = []
    for symbol, ids in id_map.items():
        if symbol in ("\n", "\r", "\t"):
            continue  # sherpa-onnx's tokens.txt is line- and whitespace-separated; espeak never emits these
        if len(symbol) != 1:
            # sherpa-onnx maps one code point to one token; a voice with multi-code-point symbols cannot be expressed
            raise ConversionError(f"symbol {symbol!r} is more than one code point: sherpa-onnx cannot load this voice")
        first = ids[0] if isinstance(ids, list) else ids
        if not isinstance(first, int):
            raise ConversionError(f"symbol {symbol!r} has no integer id")
        lines.append(f"{symbol} {first}\n")
    for required in ("_", "^", "$"):
        if required not in id_map:
            raise ConversionError(f"phoneme_id_map lacks Piper's {required!r} symbol")
    return "".join(lines)


def metadata(config):
    if config.get("phoneme_type", "espeak") != "espeak":
        raise ConversionError(f"phoneme_type {config.get('phoneme_type')!r}: only espeak voices are laid out here")
    voice = (config.get("espeak") or {}).get("voice")
    if not voice:
        raise ConversionError("the voice JSON has no espeak.voice")
    sample_rate = (config.get("audio") or {}).get("sample_rate")
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ConversionError("the voice JSON has no audio.sample_rate")
    language = (config.get("language") or {}).get("name_english") or voice
    punctuation = " ".join(s for s in config["phoneme_id_map"] if len(s) == 1 and s != "_" and unicodedata.category(s).startswith("P"))
    return {
        "model_type": "vits",
        "comment": "piper",  # sherpa-onnx picks its Piper code path from this word
        "language": language,
        "voice": voice,  # espeak-ng voice
        "has_espeak": 1,
        "n_speakers": int(config.get("num_speakers", 1)),
        "sample_rate": sample_rate,
        "add_blank": 0,  # Piper's frontend intersperses the pad id itself
        "punctuation": punctuation,
    }


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    model_path, config_path, out_dir = argv[1:4]
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        token_text = tokens(config)
        meta = metadata(config)
        with open(model_path, "rb") as f:
            model = f.read()
        parts = with_metadata(model, meta)
        os.makedirs(out_dir, exist_ok=True)
        for name, write in (
            ("model.onnx", lambda f: [f.write(p) for p in parts]),
            ("tokens.txt", lambda f: f.write(token_text.encode("utf-8"))),
        ):
            tmp = os.path.join(out_dir, f".{name}.tmp")
            with open(tmp, "wb") as f:
                write(f)
            os.replace(tmp, os.path.join(out_dir, name))
    except (OSError, ValueError, ConversionError) as err:
        print(f"piper_to_sherpa: {err}", file=sys.stderr)
        return 1
    print(json.dumps(meta, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
