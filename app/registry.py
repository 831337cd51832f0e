"""One small registry shape for every kind of backend (model, detector, frame source, audio output).

A registry maps a name to a factory and to a check that says, in one sentence a person can act on,
why that backend cannot run here (``None`` when it can). Settings dialogs and the CLI ask the
registry what to offer; nothing imports a backend module just to find out whether it works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.errors import UserError

T = TypeVar("T")


def always_available() -> str | None:
    return None


@dataclass(frozen=True)
class Backend(Generic[T]):
    """One registered implementation: ``factory(**options)`` builds it."""

    name: str
    label: str
    factory: Callable[..., T]
    unavailable: Callable[[], str | None] = always_available
    # Shown in lists for people, never chosen by default (fakes for tests, experiments).
    hidden: bool = False

    def unavailable_reason(self) -> str | None:
        """``None`` when this backend can run here, else why not and what to do about it."""
        return self.unavailable()


class Registry(Generic[T]):
    """name -> Backend; registration order is the order shown to people."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._backends: dict[str, Backend[T]] = {}

    def register(
        self,
        name: str,
        factory: Callable[..., T],
        *,
        label: str = "",
        unavailable: Callable[[], str | None] = always_available,
        hidden: bool = False,
    ) -> Backend[T]:
        if name in self._backends:
            raise ValueError(f"{self.kind} backend {name!r} is registered twice")
        backend = Backend(name, label or name, factory, unavailable, hidden)
        self._backends[name] = backend
        return backend

    def __contains__(self, name: object) -> bool:
        return name in self._backends

    def __iter__(self) -> Iterator[Backend[T]]:
        return iter(self._backends.values())

    def names(self, *, include_hidden: bool = False) -> tuple[str, ...]:
        return tuple(b.name for b in self if include_hidden or not b.hidden)

    def get(self, name: str) -> Backend[T]:
        try:
            return self._backends[name]
        except KeyError:
            known = ", ".join(self.names())
            raise KeyError(f"no {self.kind} called {name!r} (known: {known})") from None

    def unavailable_reason(self, name: str) -> str | None:
        return self.get(name).unavailable_reason()

    def available(self) -> tuple[str, ...]:
        """The visible backends that can run here now."""
        return tuple(b.name for b in self if not b.hidden and b.unavailable_reason() is None)

    def create(self, name: str, **options: object) -> T:
        """Build ``name``; raises ``UserError`` with the reason when it cannot run here."""
        try:
            backend = self.get(name)
        except KeyError as exc:
            raise UserError(f"There is {exc.args[0]}.") from None
        reason = backend.unavailable_reason()
        if reason is not None:
            raise UserError(reason)
        return backend.factory(**options)
