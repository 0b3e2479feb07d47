"""Reproduce hub-gated-repo: loading a gated model (Llama 2) without an accepted licence or a token.

Gated repos (meta-llama/*, many Mistral and Gemma repos) only serve files to
logged-in users whose access request was accepted.  Without that the Hub
answers 401/403 with ``X-Error-Code: GatedRepo``; huggingface_hub raises
``GatedRepoError`` and transformers re-raises it as
``OSError: You are trying to access a gated repo. ...``.

    python examples/hub-gated-repo.py

There is no network here, so the Hub's answer comes from a loopback stand-in
(serve_hub_refusal below) that sends the same status and headers; the exception
classes, messages and traceback are the real libraries'.  No token is sent
or needed.
"""

import os


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


# 401 + GatedRepo: the Hub's answer for a gated model when the caller has no access.
serve_hub_refusal(401, {
    "X-Error-Code": "GatedRepo",
    "X-Error-Message": "Access to model {repo} is restricted. You must have access to it and be authenticated "
                       "to access it. Please log in.",
})

from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")
