"""One way to register things by name: policy losses, advantage estimators and controllers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → object, filled by the ``register`` decorator; ``lookup`` fails with the known names.

    Reads like a read-only dict (``in``, ``[]``, iteration over names, ``len``).
    """

    def __init__(self, kind: str, check: Callable[[str, T], None] | None = None):
        self.kind = kind
        self._check = check  # validates an entry at registration (e.g. its signature)
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: add the decorated object under ``name`` (a name is registered once)."""

        def wrap(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            if self._check is not None:
                self._check(name, obj)
            self._entries[name] = obj
            return obj

        return wrap

    def lookup(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a ``ValueError`` listing the known ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}: known {sorted(self._entries)}") from None

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self):
        return self._entries.items()
