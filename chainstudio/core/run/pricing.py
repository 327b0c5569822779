"""Per-model prices: the genai-prices table (bundled, offline) plus user overrides, Decimal costs.

An unknown model's cost is ``None`` (shown as unknown), never 0. genai-prices' background updater is
never started, so pricing makes no network calls.

Overrides are a mapping ``model -> {"input": $ per million input tokens, "output": $ per million output
tokens}``, given as a dict or a JSON file; they take precedence over the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from chainstudio.core.errors import Refused

MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class ModelPrice:
    input_per_million: Decimal
    output_per_million: Decimal
    source: str = "override"  # "override" | "genai-prices"

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return (self.input_per_million * input_tokens + self.output_per_million * output_tokens) / MILLION


class PricingError(Refused, ValueError):
    """An overrides file or mapping that cannot be read."""


class Pricing:
    def __init__(
        self, overrides: Mapping[str, Any] | None = None, *, use_table: bool = True, provider_id: str | None = "openai"
    ):
        self.overrides = {model: _parse_price(model, value) for model, value in (overrides or {}).items()}
        self.use_table = use_table
        self.provider_id = provider_id

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Pricing:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PricingError(f"cannot read prices from {path}: {exc}") from None
        if not isinstance(data, dict):
            raise PricingError(f"{path}: expected an object of model -> {{input, output}}")
        return cls(data, **kwargs)

    def price(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        if model in self.overrides:
            return self.overrides[model]
        if self.use_table:
            return _table_price(model, self.provider_id)
        return None

    def cost(self, model: str | None, input_tokens: int, output_tokens: int) -> Decimal | None:
        """The cost in USD, or None when the model's price is unknown (tiered table prices apply)."""
        if not model:
            return None
        if model in self.overrides:
            return self.overrides[model].cost(input_tokens, output_tokens)
        if self.use_table:
            return _table_cost(model, self.provider_id, int(input_tokens), int(output_tokens))
        return None

    def cost_usd(self, model: str | None, input_tokens: int, output_tokens: int) -> float | None:
        cost = self.cost(model, input_tokens, output_tokens)
        return None if cost is None else float(cost)


def _parse_price(model: str, value: Any) -> ModelPrice:
    try:
        if isinstance(value, ModelPrice):
            return value
        if isinstance(value, Mapping):
            return ModelPrice(Decimal(str(value["input"])), Decimal(str(value["output"])))
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return ModelPrice(Decimal(str(value[0])), Decimal(str(value[1])))
    except (KeyError, ArithmeticError, ValueError, TypeError):
        pass
    raise PricingError(f'price for {model!r} must be {{"input": $/M tokens, "output": $/M tokens}}, got {value!r}')


@lru_cache(maxsize=4096)
def _table_cost(model: str, provider_id: str | None, input_tokens: int, output_tokens: int) -> Decimal | None:
    """The bundled table's cost (no network: its updater is never started); None when unknown."""
    from genai_prices import Usage, calc_price

    try:
        result = calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens), model_ref=model, provider_id=provider_id
        )
    except LookupError:
        if provider_id is None:
            return None
        return _table_cost(model, None, input_tokens, output_tokens)  # e.g. a Llama served by Ollama
    except Exception:  # noqa: BLE001 - a malformed table entry must not break a run: price unknown
        return None
    return Decimal(result.total_price)


def _table_price(model: str, provider_id: str | None) -> ModelPrice | None:
    """The table's price per million input and output tokens (first tier)."""
    per_input = _table_cost(model, provider_id, 1_000_000, 0)
    per_output = _table_cost(model, provider_id, 0, 1_000_000)
    if per_input is None or per_output is None:
        return None
    return ModelPrice(per_input, per_output, source="genai-prices")
