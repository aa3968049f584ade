"""Every example in docs/ runs, in order, against a real server (so docs never rot).

Each page gets its own fresh server (SQLite in a temporary directory). ```python blocks run in
one namespace per page with ``BASE_URL`` set, as a reader's session would; in ```console
blocks, each ``$ tradewind …`` line (but ``serve``) runs as the CLI against that server's data.
"""

from __future__ import annotations

import re
import shlex
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from tradewind.api.app import create_app
from tradewind.cli import app as cli_app
from tradewind.settings import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```(python|console)\n(.*?)^```", re.S | re.M)
PAGES = sorted(p for p in DOCS.glob("**/*.md") if BLOCK.search(p.read_text()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def base_url(data_dir: Path) -> Iterator[str]:
    port = _free_port()
    settings = Settings(data_dir=data_dir)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("docs server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_there_are_runnable_docs() -> None:
    assert len(PAGES) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(page: Path, base_url: str, data_dir: Path) -> None:
    namespace: dict[str, object] = {"BASE_URL": base_url, "__name__": "docs_example"}
    for number, match in enumerate(BLOCK.finditer(page.read_text()), start=1):
        kind, body = match.groups()
        where = f"{page.name}#block{number}"
        if kind == "python":
            exec(compile(body, where, "exec"), namespace)  # noqa: S102 - running our own docs is the point
            continue
        for line in body.splitlines():
            args = shlex.split(line[2:]) if line.startswith("$ tradewind ") else []
            if args[1:2] and args[1] != "serve":
                env = {"TRADEWIND_DATA_DIR": str(data_dir), "TRADEWIND_DATABASE_URL": ""}
                result = CliRunner().invoke(cli_app, args[1:], env=env)
                assert result.exit_code == 0, f"{where}: {line}\n{result.output}"
