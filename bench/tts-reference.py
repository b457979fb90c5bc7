"""The reference Python Piper (piper-tts) of `npm run bench:tts`, serving texts one at a time.

Protocol (bench/tts.ts drives it, the same as bench/tts-sherpa.ts), one JSON value per line:
  stdin:  {"model": PATH}, then one text (a JSON string) per request; end of input ends it
  stdout: {"sampleRate": N, "loadSeconds": X} once loaded and warmed up; per text
          {"ttfa": s, "total": s, "cpu": s, "samples": N}; at the end {"peakRssMb": X}
"""
import json
import resource
import sys
import time

from piper import PiperVoice


def run(voice, text):
    start = time.perf_counter()
    cpu_start = time.process_time()
    first = None
    samples = 0
    for chunk in voice.synthesize(text):
        pcm = chunk.audio_int16_bytes  # what a caller streams out
        if first is None:
            first = time.perf_counter() - start
        samples += len(pcm) // 2
    return {
        "ttfa": first,
        "total": time.perf_counter() - start,
        "cpu": time.process_time() - cpu_start,
        "samples": samples,
    }


def reply(value):
    print(json.dumps(value), flush=True)


def main():
    job = json.loads(sys.stdin.readline())
    t0 = time.perf_counter()
    voice = PiperVoice.load(job["model"])
    load_s = time.perf_counter() - t0
    run(voice, "Hello there.")  # warm-up, like the engine's TTS_WARMUP
    reply({"sampleRate": voice.config.sample_rate, "loadSeconds": load_s})
    for line in sys.stdin:
        if line.strip():
            reply(run(voice, json.loads(line)))
    reply({"peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


if __name__ == "__main__":
    main()
