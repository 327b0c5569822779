"""What a batch is made of and what it yields: ``Cell`` (one row under one variant, strategy and repeat)
and ``RowResult`` (how that cell's run went: latency, tokens, cost, outputs, scores)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# a row's statuses: "succeeded" and "failed" are final (kept, never rerun); any other ("stopped" by a budget
# or a cancel) is not kept, so that a resumed batch runs the row again
FINAL_STATUSES = ("succeeded", "failed")


@dataclass(frozen=True)
class Config:
    """One arm of the comparison: a graph file (a variant) under one strategy."""

    variant: str  # the variant's label (its file's stem)
    strategy: str

    @property
    def label(self) -> str:
        return f"{self.variant} · {self.strategy}"


@dataclass(frozen=True)
class Cell:
    """One unit of work: dataset row ``row`` of ``config``, repeat ``repeat``."""

    config: Config
    repeat: int
    row: int

    @property
    def key(self) -> str:
        return f"{self.config.variant}|{self.config.strategy}|{self.repeat}|{self.row}"


@dataclass
class RowResult:
    """One cell's run. Times are the run's clock's (simulated seconds on the simulated provider)."""

    variant: str
    strategy: str
    repeat: int
    row: int
    status: str  # "succeeded" | "failed" | "stopped"
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    api_calls: int = 0
    tokens_estimated: bool = False
    output: str = ""  # the graph's output (its first output step's, else its last step's)
    outputs: dict[str, str] = field(default_factory=dict)  # every step's output, by step name
    error: str | None = None
    scores: dict[str, float | None] = field(default_factory=dict)  # evaluator -> score (None: could not score)
    reasons: dict[str, str] = field(default_factory=dict)  # evaluator -> why (judges, failed checks)
    judge_tokens: int = 0  # what the judges' calls used (not part of the row's own tokens and cost)
    judge_cost_usd: float | None = 0.0
    overlap: float | None = None  # mean token-set Jaccard between sibling parallel steps' outputs
    run_id: str = ""
    simulated: bool = False
    price: str = ""  # where the cost's prices come from when not the standard table's (the Batch API's)

    @property
    def cell_key(self) -> str:
        return f"{self.variant}|{self.strategy}|{self.repeat}|{self.row}"

    @property
    def config(self) -> Config:
        return Config(self.variant, self.strategy)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RowResult:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
