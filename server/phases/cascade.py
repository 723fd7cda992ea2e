"""The dependency graph of a project's phases: who is affected when a phase changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def dependents(graph: Mapping[int, Sequence[int]], changed: int) -> set[int]:
    """Every phase that depends on ``changed``, directly or through other phases."""
    reverse: dict[int, list[int]] = {}
    for number, deps in graph.items():
        for dep in deps:
            reverse.setdefault(dep, []).append(number)
    found: set[int] = set()
    todo = list(reverse.get(changed, ()))
    while todo:
        number = todo.pop()
        if number not in found:
            found.add(number)
            todo.extend(reverse.get(number, ()))
    return found
