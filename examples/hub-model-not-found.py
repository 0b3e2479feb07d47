"""Reproduce hub-model-not-found: from_pretrained with a path or repo id that names nothing.

``from_pretrained(name)`` treats ``name`` as a local folder if that folder
exists, otherwise as a Hub repo id.  A mistyped local path (``./my-modle``) is
no folder, and as a repo id it is invalid, so huggingface_hub's validator
raises ``HFValidationError`` and transformers re-raises it as
``OSError: Repo id must use alphanumeric chars ...``.  A well-formed repo id
that does not exist makes the Hub answer 404 (RepoNotFound) and transformers
says ``... is not a local folder and is not a valid model identifier listed on
'https://huggingface.co/models'``.

    python examples/hub-model-not-found.py            # ./my-modle (typo of ./my-model): no network needed
    python examples/hub-model-not-found.py abspath    # /.../.tiny-models/lama (typo of llama)
    python examples/hub-model-not-found.py repo       # meta-llama/Llama-2-7b-hff against a loopback
                                                      # stand-in that answers like the Hub
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def serve_hub_refusal(status: int, headers: dict[str, str]) -> None:
    """Answer every request on a loopback port like the Hub refusing, and point HF_ENDPOINT at it.

    huggingface_hub's ``hf_raise_for_status`` picks the exception class from the
    status and the ``X-Error-Code`` / ``X-Error-Message`` headers; everything
    after that is the real libraries' code.  Listens on 127.0.0.1 only.
    """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            repo = "/".join(self.path.strip("/").split("/")[:2])
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value.format(repo=repo))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, *args) -> None:  # keep stderr to the libraries' output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ.pop("HF_HUB_OFFLINE", None)
    os.environ.pop("HF_TOKEN", None)
    os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"  # never send a stored token, not even to loopback
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{server.server_address[1]}"


if sys.argv[1:] == ["repo"]:
    # 404 + RepoNotFound: the Hub's answer for a repo id that does not exist (or is private to others).
    serve_hub_refusal(404, {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"})
    name = "meta-llama/Llama-2-7b-hff"
else:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tiny_models import model_dir

    real = Path(model_dir("llama"))  # the folder that does exist
    if sys.argv[1:] == ["abspath"]:
        name = str(real.with_name("lama"))
    else:
        os.chdir(real.parent)
        name = "./my-modle"  # the user meant ./my-model

from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(name)
