"""``@frozen``: the immutable dataclass of the model and the analysis, cheaper to create.

``@frozen`` is ``@dataclass(frozen=True)`` with the same equality, hash and repr,
but those three are shared functions instead of code generated per class.
On Python 3.11 ``dataclasses`` compiles a separate piece of source text for
every generated method; for a frozen dataclass that is six (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), and the
compiling was most of ``diagnose --json``'s start-up in our own modules
(docs/performance.md). Sharing the three that need no per-class code cuts the
creation of a class by about 40 %; the other three stay dataclasses' own.

What stays exactly as with ``@dataclass(frozen=True)``: the fields, ``__init__``,
``FrozenInstanceError`` on assignment, ``dataclasses.fields``/``replace``/
``asdict``, ``__match_args__``; equality is field by field between instances of
the same class (``NotImplemented`` otherwise), the hash is that of the compared
fields (a dict field makes it unhashable, as before), the repr names the class
and the fields. mypy reads the decorator through ``dataclass_transform``, so it
checks constructors and refuses assignments as it does for a frozen dataclass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


class _Shared:
    """The three shared methods; :func:`frozen` puts them on each class it makes.

    ``__frozen_compared__`` (the compared fields' values as a tuple) and
    ``__frozen_shown__`` (the names the repr shows) are set per class.
    """

    __frozen_compared__: Callable[[Any], tuple[Any, ...]]
    __frozen_shown__: tuple[str, ...]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.__frozen_compared__(self) == self.__frozen_compared__(other)

    def __hash__(self) -> int:
        return hash(self.__frozen_compared__(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__frozen_shown__)
        return f"{self.__class__.__qualname__}({shown})"


def _getter(names: tuple[str, ...]) -> Any:
    """A function of an instance giving the named fields' values as a tuple."""
    if len(names) >= 2:
        return attrgetter(*names)  # in C, and already a tuple
    if names:
        single = attrgetter(names[0])
        return lambda value: (single(value),)
    return lambda value: ()


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T]) -> type[T]:
    """Make ``cls`` an immutable dataclass with value equality, a hash and a repr."""
    built = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
    fields = dataclasses.fields(built)  # type: ignore[arg-type]
    # staticmethod: a plain attribute would be bound as a method of the instance.
    built.__frozen_compared__ = staticmethod(  # type: ignore[attr-defined]
        _getter(tuple(f.name for f in fields if f.compare)))
    built.__frozen_shown__ = tuple(f.name for f in fields if f.repr)  # type: ignore[attr-defined]
    built.__eq__ = _Shared.__eq__  # type: ignore[assignment]
    built.__hash__ = _Shared.__hash__  # type: ignore[assignment]
    built.__repr__ = _Shared.__repr__  # type: ignore[assignment]
    return built
