"""Benchmarks (`make bench`). Each module has ``run() -> list[Figure]``.

Every figure prints on a line of its own in one form:
``bench <name>: <value> <unit> (target <op> <value>)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target_op: str = ""
    target: float | None = None

    def line(self) -> str:
        value = f"{self.value:.0f}" if abs(self.value) >= 100 else f"{self.value:.3g}"
        text = f"bench {self.name}: {value} {self.unit}".rstrip()
        if self.target is not None:
            target = f"{self.target:g}"
            text += f" (target {self.target_op} {target})"
        return text

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return {">=": self.value >= self.target, "<=": self.value <= self.target}[self.target_op]
