"""Reproduce hub-offline: loading a hub model id that is not in the local cache, with no way to download it.

``from_pretrained("meta-llama/Llama-2-7b-hf")`` first looks in the Hugging Face
cache; on a miss it must download.  With ``HF_HUB_OFFLINE=1`` (or
``local_files_only=True``) downloads are forbidden, and without network they
fail; either way huggingface_hub raises ``LocalEntryNotFoundError`` and
transformers re-raises it as
``OSError: We couldn't connect to 'https://huggingface.co' to load the files,
and couldn't find them in the cached files.``

    python examples/hub-offline.py           # HF_HUB_OFFLINE=1, empty cache (a few seconds)
    python examples/hub-offline.py online    # offline mode off, no network: retries, then fails (~60 s)

The cache is a fresh empty folder, so nothing is downloaded or found.
"""

import os
import sys
import tempfile

if sys.argv[1:] == ["online"]:
    os.environ.pop("HF_HUB_OFFLINE", None)
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "2")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "2")
else:
    os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_CACHE"] = tempfile.mkdtemp(prefix="hub-offline-cache-")

from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")
