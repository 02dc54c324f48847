"""RemoteMonitor: POSTs each epoch's logs to an HTTP server. [side: stdlib urllib, json]

Keras 3 sends with the `requests` library; gazelle sends the same requests with the
standard library: the logs as a JSON object, either in a form field (`field`, urlencoded)
or, with `send_as_json=True`, as the `application/json` body. A server that cannot be
reached gives a warning, never an error, and training goes on.
"""
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from gazelle.callbacks.callback import Callback

_TIMEOUT_S = 30     # a server that accepts but never answers does not stall training


class RemoteMonitor(Callback):
    """Streams the logs of every epoch to a server (an HTTP POST per epoch).

    Args:
        root: the server's root URL (default `"http://localhost:9000"`).
        path: the path, relative to `root`, that receives the events (default
            `"/publish/epoch/end/"`).
        field: the form field holding the JSON-encoded logs (used when `send_as_json` is
            False).
        headers: optional dict of extra HTTP headers.
        send_as_json: send the logs as the JSON body (`Content-Type: application/json`)
            instead of a form.

    The payload is `{"epoch": epoch, **logs}`.

    ```python
    model.fit(x, y, epochs=10,
              callbacks=[keras.callbacks.RemoteMonitor(root="http://localhost:9000")])
    ```
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        headers = dict(self.headers or {})
        try:
            if self.send_as_json:
                body = json.dumps(send, allow_nan=False).encode("utf-8")
                headers.setdefault("Content-Type", "application/json")
            else:
                body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            request = urllib.request.Request(self.root + self.path, data=body,
                                             headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError:
            pass            # the server answered (with an error status): as `requests`
        except (OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}",
                          stacklevel=2)
