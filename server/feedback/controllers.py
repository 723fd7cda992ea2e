"""``PUT|DELETE /api/v1/messages/{id}/feedback`` for members, ``/api/v1/feedback`` for admins."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from server.access import ADMIN, VIEWER
from server.db import session
from server.db.models import ChatMessage
from server.errors import invalid
from server.runtime import runtime_of

from .events import announce
from .schemas import (
    DIMENSIONS,
    Dimension,
    FeedbackGroup,
    FeedbackIn,
    FeedbackOut,
    Rating,
)
from .services import aggregate, export, rate, withdraw

ON_MESSAGE = {"project_of": ("message_id", ChatMessage)}


class MessageFeedbackController(Controller):
    """A project member rates an assistant message (viewers too: see docs/feedback.md)."""

    path = "/api/v1/messages/{message_id:uuid}/feedback"
    tags = ["feedback"]

    @put("/", opt={**VIEWER, **ON_MESSAGE}, operation_id="rate_message")
    async def rate_message(
        self,
        request: Request[Any, Any, Any],
        message_id: FromPath[UUID],
        data: JSONBody[FeedbackIn],
        db_session: NamedDependency[AsyncSession],
    ) -> FeedbackOut:
        """Rate the message ``up`` or ``down`` (with an optional comment); rating again
        replaces the earlier rating. The session's participants get ``chat:feedback_updated``."""
        stored = await rate(db_session, request.user.id, message_id, data.rating, data.comment)
        await db_session.commit()
        await announce(runtime_of(request.app).publisher, stored)
        return stored

    @delete("/", opt={**VIEWER, **ON_MESSAGE}, operation_id="withdraw_message_rating")
    async def withdraw_rating(
        self,
        request: Request[Any, Any, Any],
        message_id: FromPath[UUID],
        db_session: NamedDependency[AsyncSession],
    ) -> None:
        """Remove one's rating of the message."""
        stored = await withdraw(db_session, request.user.id, message_id)
        await db_session.commit()
        await announce(runtime_of(request.app).publisher, stored)


class FeedbackAdminController(Controller):
    """Administrators read ratings in aggregate and export the rated exchanges."""

    path = "/api/v1/feedback"
    tags = ["feedback"]

    @get("/", opt=ADMIN, operation_id="list_feedback")
    async def list_feedback(
        self,
        *,
        db_session: NamedDependency[AsyncSession],
        group_by: Annotated[list[Dimension] | None, Parameter(query="group_by")] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        project_id: FromQuery[UUID | None] = None,
    ) -> list[FeedbackGroup]:
        """Up and down ratings grouped by ``group_by`` (any of provider, model, profile,
        prompt, phase, day; default all), of ratings given in ``[since, until)``."""
        return await aggregate(
            db_session, group_by or DIMENSIONS, since=since, until=until, project_id=project_id
        )

    @get("/export", opt=ADMIN, operation_id="export_feedback")
    async def export_feedback(
        self,
        *,
        request: Request[Any, Any, Any],
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        project_id: FromQuery[UUID | None] = None,
        rating: FromQuery[Rating | None] = None,
    ) -> Stream:
        """The rated exchanges as JSON lines: question, context sent, answer, rating, comment,
        provider, model, profile, phase and prompt versions, oldest rating first."""
        if since is not None and until is not None and since >= until:
            raise invalid("since must be before until")
        return Stream(
            export(
                partial(session, runtime_of(request.app).alchemy),
                since=since,
                until=until,
                project_id=project_id,
                rating=rating,
            ),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="feedback.jsonl"'},
        )
