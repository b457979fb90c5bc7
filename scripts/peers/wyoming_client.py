"""Wyoming test peer: drives a Wyoming TTS server with the PyPI `wyoming` package's own client.

    python wyoming_client.py --uri tcp://127.0.0.1:10200 describe
    python wyoming_client.py --uri tcp://127.0.0.1:10200 synthesize --text "Hello." --out hello.wav [--voice NAME]
    python wyoming_client.py --uri tcp://127.0.0.1:10200 stream --chunk "Hel" --chunk "lo. " --out hello.wav

Prints one JSON object on stdout: what it received (event types in order, the info, the audio
format, the seconds from the request to the first audio chunk and to the end); the audio is written
as a WAV file. Exits 1 on an `error` event, 2 on a protocol violation. Installed by
scripts/setup/wyoming.sh into $VO_CACHE/venv-wyoming.
"""

import argparse
import asyncio
import json
import sys
import time
import wave

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.error import Error
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped, SynthesizeVoice


def voice_of(args):
    if args.voice or args.language:
        return SynthesizeVoice(name=args.voice, language=args.language)
    return None


async def describe(client):
    await client.write_event(Describe().event())
    event = await client.read_event()
    if event is None or not Info.is_type(event.type):
        return {"error": f"expected info, got {event.type if event else 'end of stream'}"}
    info = Info.from_event(event)
    tts = [
        {
            "name": p.name,
            "supports_synthesize_streaming": p.supports_synthesize_streaming,
            "voices": [{"name": v.name, "languages": v.languages} for v in p.voices],
        }
        for p in info.tts
    ]
    return {"types": [event.type], "tts": tts}


async def read_audio(client, out, until_stopped):
    """Reads events until audio-stop (or synthesize-stopped when streaming); writes the audio."""
    types, audio, fmt = [], bytearray(), None
    first_chunk_at = None
    while True:
        event = await client.read_event()
        if event is None:
            return {"types": types, "error": "connection closed"}, audio, fmt, first_chunk_at
        types.append(event.type)
        if Error.is_type(event.type):
            err = Error.from_event(event)
            return {"types": types, "error": err.text, "code": err.code}, audio, fmt, first_chunk_at
        if AudioStart.is_type(event.type):
            start = AudioStart.from_event(event)
            fmt = fmt or (start.rate, start.width, start.channels)
        elif AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            if fmt is None or (chunk.rate, chunk.width, chunk.channels) != fmt:
                return {"types": types, "violation": "audio-chunk before audio-start or in another format"}, audio, fmt, first_chunk_at
            first_chunk_at = first_chunk_at or time.monotonic()
            audio.extend(chunk.audio)
        elif AudioStop.is_type(event.type) and not until_stopped:
            return {"types": types}, audio, fmt, first_chunk_at
        elif SynthesizeStopped.is_type(event.type) and until_stopped:
            return {"types": types}, audio, fmt, first_chunk_at


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("--timeout", type=float, default=120)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("describe")
    for name in ("synthesize", "stream"):
        p = sub.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--voice")
        p.add_argument("--language")
        if name == "synthesize":
            p.add_argument("--text", required=True)
        else:
            p.add_argument("--chunk", action="append", required=True)
            p.add_argument("--chunk-delay", type=float, default=0.05)
    args = parser.parse_args()

    async with AsyncClient.from_uri(args.uri, read_timeout=args.timeout) as client:
        if args.command == "describe":
            result = await describe(client)
        else:
            started = time.monotonic()
            if args.command == "synthesize":
                await client.write_event(Synthesize(text=args.text, voice=voice_of(args)).event())
            else:
                # as Home Assistant streams an LLM answer: start, chunks as they come, the whole text (ignored by streaming servers), stop
                await client.write_event(SynthesizeStart(voice=voice_of(args)).event())
                for chunk in args.chunk:
                    await client.write_event(SynthesizeChunk(text=chunk).event())
                    await asyncio.sleep(args.chunk_delay)
                await client.write_event(Synthesize(text="".join(args.chunk), voice=voice_of(args)).event())
                await client.write_event(SynthesizeStop().event())
            result, audio, fmt, first_chunk_at = await read_audio(client, args.out, args.command == "stream")
            ended = time.monotonic()
            if fmt is not None:
                with wave.open(args.out, "wb") as wav:
                    wav.setframerate(fmt[0])
                    wav.setsampwidth(fmt[1])
                    wav.setnchannels(fmt[2])
                    wav.writeframes(bytes(audio))
                result["format"] = {"rate": fmt[0], "width": fmt[1], "channels": fmt[2]}
            result["audio_seconds"] = len(audio) / (fmt[0] * fmt[1] * fmt[2]) if fmt else 0
            result["first_audio_s"] = (first_chunk_at - started) if first_chunk_at else None
            result["total_s"] = ended - started
    print(json.dumps(result))
    if "error" in result:
        return 1
    return 2 if "violation" in result else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
