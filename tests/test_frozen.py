"""``@frozen`` behaves as ``@dataclass(frozen=True)``: the same class, built cheaper."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from wizard.model.frozen import frozen
from wizard.model.snapshots import ExitStatusSet, ServiceDetails, UnitSnapshot


@frozen
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class ReferencePoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: str = field(default="", compare=False, repr=False)


@frozen
class One:
    only: str


@frozen
class Empty:
    pass


@frozen
class WithDict:
    mapping: dict[str, int] = field(default_factory=dict)


VALUES = [(1, 2, ("a",), "n"), (1, 2, ("a",), "other note"), (1, 3, (), ""), (0, 0, (), "")]


@pytest.mark.parametrize("left", VALUES)
@pytest.mark.parametrize("right", VALUES)
def test_equality_and_hash_as_a_frozen_dataclass(
    left: tuple[int, int, tuple[str, ...], str], right: tuple[int, int, tuple[str, ...], str]
) -> None:
    ours = (Point(*left), Point(*right))
    reference = (ReferencePoint(*left), ReferencePoint(*right))
    assert (ours[0] == ours[1]) == (reference[0] == reference[1])
    assert (ours[0] != ours[1]) == (reference[0] != reference[1])
    if ours[0] == ours[1]:
        assert hash(ours[0]) == hash(ours[1])


def test_the_hash_is_the_compared_fields() -> None:
    assert hash(Point(1, 2, ("a",), "n")) == hash(ReferencePoint(1, 2, ("a",), "other"))
    assert hash(One("a")) == hash(("a",))
    assert hash(Empty()) == hash(())


def test_repr_as_a_frozen_dataclass() -> None:
    assert repr(Point(1, 2, ("a",), "hidden")) == repr(ReferencePoint(1, 2, ("a",), "hidden")) \
        .replace("ReferencePoint", "Point")
    assert repr(One("a")) == "One(only='a')"
    assert repr(Empty()) == "Empty()"


def test_another_class_is_never_equal() -> None:
    others: list[object] = [ReferencePoint(1), (1, 0, ()), 1]
    for other in others:
        assert Point(1) != other
        assert Point(1).__eq__(other) is NotImplemented
    text: object = "a"
    assert One("a") != text


def test_frozen_and_the_dataclass_functions() -> None:
    point = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.y
    assert dataclasses.is_dataclass(point)
    assert [f.name for f in dataclasses.fields(point)] == ["x", "y", "tags", "note"]
    assert dataclasses.replace(point, y=7) == Point(1, 7)
    assert dataclasses.asdict(point) == {"x": 1, "y": 2, "tags": (), "note": ""}
    assert Point.__match_args__ == ("x", "y", "tags", "note")
    assert pickle.loads(pickle.dumps(point)) == point
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_a_dict_field_makes_it_unhashable_as_before() -> None:
    assert WithDict({"a": 1}) == WithDict({"a": 1})
    with pytest.raises(TypeError):
        hash(WithDict())


def test_the_model_classes_keep_their_semantics() -> None:
    unit = UnitSnapshot("a.service", dependencies={"Wants": ("b.service",)},
                        service=ServiceDetails(restart="always"))
    assert unit == dataclasses.replace(unit)
    assert unit != dataclasses.replace(unit, service=ServiceDetails(restart="no"))
    assert hash(ExitStatusSet((1,), (2,))) == hash(ExitStatusSet((1,), (2,)))
    assert repr(ExitStatusSet((1,))) == "ExitStatusSet(statuses=(1,), signals=())"
