"""``assistant documents reembed``, ``assistant documents check [--repair]`` and
``assistant eval retrieval``.

Heavy imports happen inside the commands so that ``assistant --help`` stays instant.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager
    from uuid import UUID

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from sqlalchemy.ext.asyncio import AsyncSession

    from providers import Embedder, Registry
    from server.metering import Meter
    from server.settings import Settings

    from .consistency import Report
    from .evaluation import Report as EvaluationReport
    from .retrieval import Mode


@dataclass(frozen=True)
class _Context:
    settings: Settings
    database: SQLAlchemyAsyncConfig
    registry: Registry
    meter: Meter
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]]
    """A new database session of ``database``."""

    def embedder(self) -> Embedder:
        """The configured embedder, its calls recorded like the server's."""
        return self.meter.embedder(self.registry.embedder())

    async def close(self) -> None:
        await self.meter.close()
        await self.registry.aclose()
        await self.database.get_engine().dispose()


def _context() -> _Context:
    """Settings, the migrated database and the providers of config.json."""
    from providers import build_registry, parse_config  # noqa: PLC0415
    from server.console import migrated_url, settings_or_exit  # noqa: PLC0415
    from server.db import session, sqlalchemy_config  # noqa: PLC0415
    from server.metering import Meter  # noqa: PLC0415

    settings = settings_or_exit()
    database = sqlalchemy_config(migrated_url(settings))
    registry = build_registry(parse_config(settings.app.config_path.read_bytes()))
    sessions = partial(session, database)
    return _Context(settings, database, registry, Meter(sessions), sessions)


@click.group("documents")
def documents() -> None:
    """Document index maintenance."""


@documents.command("reembed")
def reembed_command() -> None:
    """Embed every chunk again with the configured embedding model (after it changed)."""
    import asyncio  # noqa: PLC0415

    from providers import embedding_space  # noqa: PLC0415
    from server.db.tenancy import all_orgs  # noqa: PLC0415
    from server.metering import usage_scope  # noqa: PLC0415

    from .consistency import reembed  # noqa: PLC0415

    context = _context()

    def report(done: int, total: int) -> None:
        click.echo(f"\r{done}/{total} chunks", nl=False)

    async def run() -> tuple[str, int]:
        try:
            embedder = context.embedder()
            with usage_scope(purpose="reembed"), all_orgs("assistant documents reembed", log=False):
                count = await reembed(context.sessions, embedder, progress=report)
        finally:
            await context.close()
        return embedding_space(embedder), count

    space, count = asyncio.run(run())
    click.echo(f"\n{count} chunks re-embedded into {space}")


@documents.command("check")
@click.option("--repair", is_flag=True, help="Fix what is found, not only report it.")
def check_command(repair: bool) -> None:
    """Report files without rows, rows without files and chunks of another embedding space.

    Exits 1 when something is inconsistent and ``--repair`` was not given.
    """
    import asyncio  # noqa: PLC0415

    from providers import embedding_space  # noqa: PLC0415
    from server.db.tenancy import all_orgs  # noqa: PLC0415

    from .consistency import check  # noqa: PLC0415
    from .storage import file_store  # noqa: PLC0415

    context = _context()

    async def run() -> Report:
        try:
            with all_orgs("assistant documents check", log=False):  # one file store for all
                return await check(
                    context.sessions,
                    file_store(context.settings.app.data_dir),
                    embedding_space(context.registry.embedder()),
                    repair=repair,
                )
        finally:
            await context.close()

    result = asyncio.run(run())
    click.echo(f"embedding space: {result.space}")
    click.echo(f"files without a document: {len(result.orphan_files)}")
    for sha256 in result.orphan_files:
        click.echo(f"  {sha256}")
    click.echo(f"documents without a file: {len(result.missing_files)}")
    for document_id in result.missing_files:
        click.echo(f"  {document_id}")
    click.echo(f"chunks of another embedding space: {result.foreign_chunks}")
    if result.clean:
        click.echo("all consistent")
    elif result.repaired:
        click.echo("repaired; run `assistant documents reembed` to refill cleared vectors")
    else:
        click.echo("inconsistent; run again with --repair to fix")
        sys.exit(1)


@click.group("eval")
def evaluation() -> None:
    """Measure how well search finds a project's own documents."""


@evaluation.command("retrieval")
@click.option("--project", "project_id", required=True, type=click.UUID, help="Project id.")
@click.option(
    "--queries",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='BEIR queries.jsonl: one {"_id", "text"} per line.',
)
@click.option(
    "--qrels",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Judgements: TREC qrels (qid 0 doc rel) or BEIR TSV (query-id, corpus-id, score).",
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["keyword", "vector", "hybrid"]),
    help="Search modes to measure (default: all three).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write each mode's ranking as a TREC run file <mode>.run here.",
)
def retrieval_command(
    *,
    project_id: UUID,
    queries: Path,
    qrels: Path,
    modes: tuple[Mode, ...],
    as_json: bool,
    run_dir: Path | None,
) -> None:
    """Print nDCG@10, recall@10, recall@100 and MRR of keyword, vector and hybrid search.

    Judged document ids name the project's documents by filename without extension.
    """
    import asyncio  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    from server.console import fail  # noqa: PLC0415
    from server.db.tenancy import org_context, org_of_project  # noqa: PLC0415
    from server.metering import usage_scope  # noqa: PLC0415

    from .evaluation import (  # noqa: PLC0415
        MODES,
        EvaluationFileError,
        evaluate,
        project_reader,
        read_qrels,
        read_queries,
        trec_run,
    )

    try:
        questions, judgements = read_queries(queries), read_qrels(qrels)
    except (EvaluationFileError, UnicodeDecodeError) as exc:
        fail(str(exc))
    context = _context()

    async def run() -> tuple[EvaluationReport | None, dict[str, dict[str, list[str]]]]:
        try:
            org_id = await org_of_project(context.sessions, project_id)
            with org_context(org_id):  # search as a member does, in the project's organisation
                return await _evaluate(org_id)
        finally:
            await context.close()

    async def _evaluate(
        org_id: UUID | None,
    ) -> tuple[EvaluationReport | None, dict[str, dict[str, list[str]]]]:
        if org_id is None:
            return None, {}
        async with context.sessions() as db:
            reader = await project_reader(db, project_id)
            if reader is None:
                return None, {}
            with usage_scope(purpose="evaluation", project_id=project_id):
                return await evaluate(
                    db,
                    project_id=project_id,
                    user_id=reader,
                    queries=questions,
                    qrels=judgements,
                    embedder=context.embedder(),
                    modes=modes or MODES,
                )

    report, runs = asyncio.run(run())
    if report is None:
        fail(f"no project {project_id} (or it has no members)")
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        for mode, ranking in runs.items():
            (run_dir / f"{mode}.run").write_text(trec_run(mode, ranking))
    if as_json:
        click.echo(msgspec.json.encode(report).decode())
        return
    click.echo(
        f"{report.queries} queries evaluated ({report.skipped_queries} without relevant "
        f"judgements skipped) over {report.documents} documents"
    )
    if report.unmatched_documents:
        click.echo(
            f"warning: {report.unmatched_documents} judged-relevant document ids name no "
            "document of the project (they count as not found)"
        )
    click.echo(f"{'mode':<8}  {'nDCG@10':>8}  {'R@10':>8}  {'R@100':>8}  {'MRR':>8}")
    for s in report.scores:
        click.echo(
            f"{s.mode:<8}  {s.ndcg_at_10:>8.4f}  {s.recall_at_10:>8.4f}  "
            f"{s.recall_at_100:>8.4f}  {s.mrr:>8.4f}"
        )
