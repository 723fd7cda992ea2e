"""Every command in README.md and docs/*.md runs as written against a real server.

The ``sh`` blocks of README.md run first, in order, in one shell state (variables set by one block
are there in the next), as a person following the README would; each page under docs/ then runs
from the state the README left (``BASE``, ``TOKEN``, ``PROJECT``...). The server is a real
``assistant serve`` on a free port with its own ``DATA_DIR``; blocks see ``PORT`` and ``DATA_DIR``
of that server and a ``PATH`` without the project's ``.venv/bin`` or ``~/.local/bin`` (a new user
has neither on it). The rules pages follow are in :mod:`tests.integration.docs.blocks`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from providers import ConfigError
from server.ai.config import ConfigStore
from server.metering import Meter
from server.phases import validate_workflows
from tests.conftest import ROOT
from tests.integration.conftest import ASSISTANT
from tests.integration.docs.blocks import Block, blocks_of, documentation_pages, output_matches
from tests.integration.served import Served, free_port, serving, user_env

if TYPE_CHECKING:
    from collections.abc import Iterator

BLOCK_TIMEOUT_S = 240
SHELL_LANGUAGES = {"bash", "shell", "console", "zsh", "shell-session"}
COMMANDS = ("curl ", ".venv/", "make ", "uv ", "assistant ", "python ", "docker ")
_SPECIAL = (
    "BASH|BASHOPTS|BASHPID|BASH_.*|SHELLOPTS|PPID|UID|EUID|GROUPS|HOSTNAME|HOSTTYPE|IFS|LINENO|"
    "MACHTYPE|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PS4|PWD|OLDPWD|RANDOM|SRANDOM|SECONDS|SHLVL|"
    "EPOCHREALTIME|EPOCHSECONDS|COLUMNS|LINES|HISTCMD|DIRSTACK|FUNCNAME|COMP_WORDBREAKS"
)

ALL_BLOCKS = [block for page in documentation_pages() for block in blocks_of(page)]


def _ids(blocks: list[Block]) -> list[str]:
    return [block.where for block in blocks]


# --- what can be checked without a server ------------------------------------------------------


def test_every_directive_is_understood() -> None:
    problems = [p for block in ALL_BLOCKS if (p := block.directive_problem()) is not None]
    assert problems == []


def test_shell_blocks_are_labelled_sh() -> None:
    """The runner runs ``sh`` blocks only: a command in a block labelled otherwise is untested."""
    wrong = [
        f"{block.where}: label the block ```sh (it holds commands)"
        for block in ALL_BLOCKS
        if block.language in SHELL_LANGUAGES
        or (block.language == "" and block.code.lstrip().startswith(COMMANDS))
    ]
    assert wrong == []


def test_the_docs_do_not_rely_on_uv_being_on_path() -> None:
    """``make`` installs uv into ~/.local/bin, which is not on a new user's PATH."""
    found = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for page in documentation_pages()
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if "uv run" in line
    ]
    assert found == [], "write .venv/bin/<command> (or a make target) instead of `uv run`"


JSON_BLOCKS = [block for block in ALL_BLOCKS if block.language == "json"]


@pytest.mark.parametrize("block", JSON_BLOCKS, ids=_ids(JSON_BLOCKS))
def test_json_block_parses(block: Block, tmp_path: Path) -> None:
    documents = _json_documents(block)
    for document in documents:
        if isinstance(document, dict) and ({"providers", "workflows"} & document.keys()):
            _check_config_example(block, document, tmp_path / "config.json")


def _json_documents(block: Block) -> list[object]:
    """The block as one JSON document, or as JSON Lines."""
    try:
        return [json.loads(block.code)]
    except ValueError:
        pass
    documents = []
    for offset, line in enumerate(block.code.splitlines(), 1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except ValueError as exc:
            pytest.fail(f"{block.where}: line {block.line + offset} is not JSON: {exc}")
    return documents


def _check_config_example(block: Block, example: dict[str, object], path: Path) -> None:
    """A config.json example passes the server's loader; a section alone is checked inside the
    repository's config.json."""
    config = example
    if "providers" not in example:
        config = {**json.loads((ROOT / "config.json").read_text()), **example}
    path.write_text(json.dumps(config))
    try:
        meter = Meter(async_sessionmaker())  # loading makes no provider call
        ConfigStore(path, meter=meter, validators=[validate_workflows], environ={})
    except ConfigError as exc:
        pytest.fail(f"{block.where}: config.json example refused by the loader: {exc}")


def test_the_runner_reports_page_line_and_difference(tmp_path: Path) -> None:
    """What a helper who broke a command reads: where, what ran, what was expected and got."""
    page = tmp_path / "page.md"
    page.write_text(
        "Intro.\n\n```sh\nGREETING=hello\n```\n\n```sh\necho $GREETING world\n```\n\n"
        "```text\nhello …\n```\n\n```sh\necho $GREETING\n```\n\n```text\nbye\n```\n\n"
        "<!-- docs-test: exit 3 -->\n```sh\nexit 3\n```\n\n```sh\nfalse\n```\n"
    )
    state = tmp_path / "state"
    state.write_text("")
    failures = _run_page(page, state, user_env())
    assert len(failures) == 2, failures
    assert failures[0].startswith(f"{page}:15 (sh block):\n  $ echo $GREETING\n")
    assert "output differs from the ```text block at line 19" in failures[0]
    assert "  --- expected\n  bye\n  --- got\n  hello\n" in failures[0]
    assert failures[1].startswith(f"{page}:28 (sh block):")
    assert "exit status 1, expected 0" in failures[1]


SKIPPED = [block for block in ALL_BLOCKS if block.skip_reason is not None]


@pytest.mark.parametrize("block", SKIPPED, ids=_ids(SKIPPED))
def test_block_not_run(block: Block) -> None:
    """Listed in the test report: blocks the docs mark as not runnable here, and why."""
    assert block.language == "sh", f"{block.where}: only sh blocks are run, so only they skip"
    pytest.skip(f"{block.where}: {block.skip_reason}")


# --- the commands, against a served app ---------------------------------------------------------


@pytest.fixture(scope="module")
def docs_server() -> Iterator[tuple[Served, Path]]:
    """``assistant serve`` on a free port with a fresh ``DATA_DIR``."""
    # Under /tmp itself: pgserver, run as root, hands the data directory to its own user.
    with tempfile.TemporaryDirectory(prefix="assistant-docs-", dir="/tmp") as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        env = {**user_env(), "PORT": str(port), "DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
        command = (*ASSISTANT, "serve")
        with serving(command, cwd=ROOT, env=env, port=port, log=Path(tmp) / "serve.log") as served:
            yield served, data_dir


def _script(block: Block, state: Path) -> str:
    """``block`` in a shell that starts from ``state`` and writes its variables back to it."""
    return (
        textwrap.dedent(
            f"""\
        set -eo pipefail
        source {state}
        __save() {{
          local __rc=$?
          for __name in $(compgen -v | grep -E '^[A-Z][A-Z0-9_]*$' | grep -vxE '{_SPECIAL}'); do
            declare -p "$__name" 2>/dev/null | grep -vE '^declare -[a-zA-Z]*r' || true
          done > {state}.next
          exit $__rc
        }}
        trap __save EXIT
        """
        )
        + block.code
    )


def _run(block: Block, state: Path, env: dict[str, str]) -> str | None:
    """Run one block; None if it did what the page says, else what went wrong."""
    try:
        done = subprocess.run(
            ["bash", "-c", _script(block, state)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return f"did not finish within {BLOCK_TIMEOUT_S} s; output so far:\n{exc.output}"
    if (state.parent / f"{state.name}.next").exists():
        (state.parent / f"{state.name}.next").replace(state)
    if done.returncode != block.expected_exit:
        return (
            f"exit status {done.returncode}, expected {block.expected_exit}; output:\n{done.stdout}"
        )
    expected = block.expected
    if expected is not None and not output_matches(expected.code, done.stdout):
        return (
            f"output differs from the ```text block at line {expected.line} "
            f"(… there stands for any text)\n--- expected\n{expected.code}\n--- got\n{done.stdout}"
        )
    return None


def test_every_command_in_the_docs_runs_as_written(
    docs_server: tuple[Served, Path], tmp_path: Path
) -> None:
    served, data_dir = docs_server
    env = {**user_env(), "PORT": str(served.port), "DATA_DIR": str(data_dir)}
    readme, *pages = documentation_pages()
    readme_state = tmp_path / "README.state"
    readme_state.write_text("")
    failures = _run_page(readme, readme_state, env)
    for page in pages:
        state = tmp_path / f"{page.stem}.state"
        shutil.copy(readme_state, state)
        failures += _run_page(page, state, env)
    report = "\n\n".join(failures)
    assert not failures, (
        f"{len(failures)} documented command(s) do not work as written "
        f"(server log: {served.log}):\n\n{report}"
    )


def _run_page(page: Path, state: Path, env: dict[str, str]) -> list[str]:
    failures = []
    for block in blocks_of(page):
        if block.language != "sh" or block.skip_reason is not None:
            continue
        problem = _run(block, state, env)
        if problem is not None:
            command = textwrap.indent(block.code, "  $ ")
            failures.append(f"{block.where}:\n{command}\n{textwrap.indent(problem, '  ')}")
    return failures
