"""Start the real Gradio app in this process on a free 127.0.0.1 port, for the UI tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from paperqa.api import PaperQA


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(qa: PaperQA, auth: str | None = None) -> Iterator[str]:
    """The app exactly as ``paperqa ui`` launches it; yields its URL and closes it afterwards."""
    from paperqa import ui

    demo = ui.launch(qa, host="127.0.0.1", port=free_port(), auth=auth, prevent_thread_lock=True, quiet=True)
    try:
        yield demo.local_url
    finally:
        demo.close()
