"""Times the reference Python Piper (piper-tts) on the benchmark texts; prints one JSON object.

stdin: {"model": PATH, "sentences": [...], "paragraph": TEXT, "rounds": N}
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


def main():
    job = json.load(sys.stdin)
    t0 = time.perf_counter()
    voice = PiperVoice.load(job["model"])
    load_s = time.perf_counter() - t0
    run(voice, "Hello there.")  # warm-up, like the engine's TTS_WARMUP
    rounds = []
    for _ in range(job["rounds"]):
        sentences = [run(voice, s) for s in job["sentences"]]
        paragraph = run(voice, job["paragraph"])
        rounds.append({"sentences": sentences, "paragraph": paragraph})
    print(json.dumps({
        "sampleRate": voice.config.sample_rate,
        "loadSeconds": load_s,
        "rounds": rounds,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
