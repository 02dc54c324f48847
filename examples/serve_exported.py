"""Serve a model exported with `model.export(path, format="jax")` over HTTP (JSON).

Standard library only (http.server) plus numpy and jax: the exported program runs without
any model code.

    python examples/serve_exported.py mlp.zip [--host 127.0.0.1] [--port 8000]

    curl -s localhost:8000/predict -d '{"inputs": [[0.0, 0.1, ...]]}'
    # -> {"outputs": [[...]]}
    curl -s localhost:8000/metadata     # the declared input and output shapes/dtypes

A model with several inputs takes `{"inputs": {"name_a": [...], "name_b": [...]}}`.
Requests with a malformed body, undeclared shapes or wrong value types get HTTP 400 and a
message; bodies over `--max-body` bytes get 413.
"""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

try:
    from gazelle.saving.exported import load_exported
except ImportError:        # a deployment that copied gazelle/saving/exported.py alone
    from exported import load_exported

DEFAULT_MAX_BODY = 16 << 20


class BadRequest(ValueError):
    """A client error: answered with HTTP 400 and its message."""


def parse_inputs(model, body):
    """Turns a request body (bytes) into the arrays `model` takes, or raises BadRequest."""
    try:
        request = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"the body is not valid JSON ({e})") from None
    if not isinstance(request, dict) or "inputs" not in request:
        raise BadRequest('the body must be a JSON object {"inputs": ...}')
    given = request["inputs"]
    names = model.input_names
    if isinstance(given, dict):
        unknown = sorted(set(given) - set(names))
        missing = [n for n in names if n not in given]
        if unknown or missing:
            raise BadRequest(f"expected inputs {names}; missing {missing}, unknown {unknown}")
        given = [given[n] for n in names]
    elif len(names) == 1:
        given = [given]
    else:
        raise BadRequest(f"this model takes {len(names)} inputs: send "
                         f'{{"inputs": {{{", ".join(repr(n) for n in names)}: ...}}}}')
    arrays = []
    for name, shape, dtype, value in zip(names, model.input_shapes, model.input_dtypes, given):
        if not isinstance(value, list):
            raise BadRequest(f"input {name!r} must be a (nested) list of numbers")
        try:
            raw = np.asarray(value)
        except ValueError:
            raise BadRequest(f"input {name!r} is ragged: every row must have the same "
                             f"length (declared shape {shape})") from None
        if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and
                                           np.dtype(dtype).kind != "f"):
            raise BadRequest(f"input {name!r} must hold "
                             f"{'integers' if np.dtype(dtype).kind in 'iu' else 'numbers'} "
                             f"(declared dtype {dtype}); received {raw.dtype.name} values")
        if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
            raise BadRequest(f"input {name!r} holds non-finite numbers")
        arrays.append(raw.astype(dtype))
    return arrays


def make_handler(model, max_body=DEFAULT_MAX_BODY):
    """The request handler class serving `model` (a `load_exported` callable)."""
    metadata = {
        "inputs": [{"name": n, "shape": list(s), "dtype": d} for n, s, d in
                   zip(model.input_names, model.input_shapes, model.input_dtypes)],
        "outputs": [{"name": n, "shape": list(s), "dtype": d} for n, s, d in
                    zip(model.output_names, model.output_shapes, model.output_dtypes)]}

    class Handler(BaseHTTPRequestHandler):
        server_version = "gazelle-serve/1"

        def _answer(self, status, payload):
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):      # quiet by default; see --log
            if getattr(self.server, "log_requests", False):
                super().log_message(fmt, *args)

        def do_GET(self):
            if self.path == "/metadata":
                self._answer(200, metadata)
            else:
                self._answer(404, {"error": f"no such endpoint {self.path!r}; use "
                                            "POST /predict or GET /metadata"})

        def do_POST(self):
            if self.path != "/predict":
                self._answer(404, {"error": f"no such endpoint {self.path!r}; use "
                                            "POST /predict"})
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._answer(411, {"error": "a Content-Length header is required"})
                return
            if int(length) > max_body:
                # Read (and drop) a moderately large body so the client sees the answer
                # instead of a reset connection; beyond that, just close.
                self.close_connection = True
                if int(length) <= 8 * max_body:
                    remaining = int(length)
                    while remaining > 0:
                        remaining -= len(self.rfile.read(min(remaining, 1 << 16))) or remaining
                self._answer(413, {"error": f"the body is larger than {max_body} bytes"})
                return
            body = self.rfile.read(int(length))
            try:
                outputs = model(*parse_inputs(model, body))
            except ValueError as e:        # BadRequest, or the model's shape/dtype checks
                self._answer(400, {"error": str(e)})
                return
            if isinstance(outputs, list):
                payload = {"outputs": {n: o.tolist() for n, o in
                                       zip(model.output_names, outputs)}}
            else:
                payload = {"outputs": outputs.tolist()}
            self._answer(200, payload)

    return Handler


def make_server(path_or_model, host="127.0.0.1", port=8000, max_body=DEFAULT_MAX_BODY):
    """A ThreadingHTTPServer serving an exported model; `port=0` picks a free port."""
    model = (load_exported(path_or_model) if isinstance(path_or_model, (str, bytes))
             or hasattr(path_or_model, "__fspath__") else path_or_model)
    return ThreadingHTTPServer((host, port), make_handler(model, max_body))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a file written by model.export(path, format='jax')")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY)
    parser.add_argument("--log", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    try:
        server = make_server(args.model, args.host, args.port, args.max_body)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    server.log_requests = args.log
    host, port = server.server_address[:2]
    print(f"Serving {args.model} on http://{host}:{port}/predict (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
