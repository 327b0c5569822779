"""Per-model prices: the genai-prices table (bundled, offline) plus user overrides, Decimal costs.

An unknown model's cost is ``None`` (shown as unknown), never 0. genai-prices' background updater is
never started, so pricing makes no network calls.

Overrides are a mapping ``model -> {"input": $ per million input tokens, "output": $ per million output
tokens}`` (optionally ``"cached_input"``: $ per million prompt tokens read from the server's cache; the
input price when absent), given as a dict or a JSON file; they take precedence over the table. Prices
must be finite, not negative and at most ``MAX_PRICE`` (a price of 1e400 would make every cost infinite).

A call is priced by the model that answered it (the response's ``model``); a dated snapshot of the model
asked for (``gpt-4o-2024-08-06`` for ``gpt-4o``) falls back to the asked model's price, any other unknown
answering model is unknown. Cached prompt tokens are priced at the table's cache-read rate.

An endpoint on a loopback or private address runs on the user's own machine: ``for_endpoint`` makes its
calls free (cost 0, with a note saying so) unless the user set a price for the model.

``batch_cost`` prices a call made through a Batch API: the table's batch price where genai-prices has one
(its ``processing: batch`` price variant), else half the standard price, as OpenAI documents for its Batch
API (``BATCH_SOURCE``); the result says which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from chainstudio.core import strict_json
from chainstudio.core.errors import Refused
from chainstudio.core.providers.base import local_host

MILLION = Decimal(1_000_000)
BATCH_DISCOUNT = Decimal("0.5")
BATCH_SOURCE = "50 % of the standard price (OpenAI Batch API: https://platform.openai.com/docs/guides/batch)"
MAX_PRICES_BYTES = 1024 * 1024
MAX_PRICE = Decimal(10_000_000)  # $ per million tokens ($10 a token): more is a typo or an attack


def _reason(exc: BaseException) -> str:
    """One line: an OSError's strerror, else the message's first line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


@dataclass(frozen=True)
class ModelPrice:
    input_per_million: Decimal
    output_per_million: Decimal
    source: str = "override"  # "override" | "genai-prices" | "local"
    cached_input_per_million: Decimal | None = None  # None: cached prompt tokens cost the input price

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Decimal:
        cached = min(max(0, cached_tokens), input_tokens)
        cached_rate = self.input_per_million if self.cached_input_per_million is None else self.cached_input_per_million
        return (
            self.input_per_million * (input_tokens - cached)
            + cached_rate * cached
            + self.output_per_million * output_tokens
        ) / MILLION


class PricingError(Refused, ValueError):
    """An overrides file or mapping that cannot be read."""


class Pricing:
    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        use_table: bool = True,
        provider_id: str | None = "openai",
        free_note: str = "",
    ):
        self.overrides = {model: _parse_price(model, value) for model, value in (overrides or {}).items()}
        self.use_table = use_table
        self.provider_id = provider_id
        self.free_note = free_note  # set: models without a user price are free (a local server); says why

    def for_endpoint(self, base_url: str | None) -> Pricing:
        """These prices for calls to ``base_url``: free unless the user set a price when it is on a loopback
        or private address (a server on the user's own machine or network); otherwise these prices."""
        host = local_host(base_url)
        if host is None:
            return self
        note = f"local server {host}: free unless you set a price"
        pricing = Pricing(use_table=self.use_table, provider_id=self.provider_id, free_note=note)
        pricing.overrides = dict(self.overrides)
        return pricing

    def with_overrides(self, overrides: Mapping[str, Any]) -> Pricing:
        """These prices with ``overrides`` on top (an endpoint profile's own prices for its models)."""
        if not overrides:
            return self
        pricing = Pricing(overrides, use_table=self.use_table, provider_id=self.provider_id, free_note=self.free_note)
        pricing.overrides = {**self.overrides, **pricing.overrides}
        return pricing

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Pricing:
        try:
            data, found = strict_json.parse(strict_json.read_bounded(path, MAX_PRICES_BYTES).decode("utf-8"))
        except RecursionError:
            raise PricingError(f"cannot read prices from {path}: the JSON is nested too deeply") from None
        except (OSError, ValueError) as exc:
            raise PricingError(f"cannot read prices from {path}: {_reason(exc)}") from None
        if found:
            raise PricingError(f"cannot read prices from {path}: {found[0].path}: {found[0].message}")
        if not isinstance(data, dict):
            raise PricingError(f"{path}: expected an object of model -> {{input, output}}")
        return cls(data, **kwargs)

    def price(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        if model in self.overrides:
            return self.overrides[model]
        if self.free_note:
            return ModelPrice(Decimal(0), Decimal(0), source="local")
        if self.use_table:
            return _table_price(model, self.provider_id)
        return None

    def cost(self, model: str | None, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Decimal | None:
        """The cost in USD, or None when the model's price is unknown (tiered table prices apply).
        ``cached_tokens`` of the ``input_tokens`` were read from the server's prompt cache."""
        if not model:
            return None
        if model in self.overrides:
            return self.overrides[model].cost(input_tokens, output_tokens, cached_tokens)
        if self.free_note:
            return Decimal(0)
        if self.use_table:
            cached = min(max(0, int(cached_tokens)), int(input_tokens))
            return _table_cost(model, self.provider_id, int(input_tokens), int(output_tokens), cached)
        return None

    def cost_usd(
        self, model: str | None, input_tokens: int, output_tokens: int, cached_tokens: int = 0
    ) -> float | None:
        cost = self.cost(model, input_tokens, output_tokens, cached_tokens)
        return None if cost is None else float(cost)

    def batch_cost(
        self, model: str | None, input_tokens: int, output_tokens: int, cached_tokens: int = 0
    ) -> tuple[Decimal | None, str]:
        """A call's cost through a Batch API and where its price comes from (see the module docstring)."""
        if not model:
            return None, "no model"
        if model not in self.overrides and self.free_note:
            return Decimal(0), self.free_note
        standard = self.cost(model, input_tokens, output_tokens, cached_tokens)
        if standard is None:
            return None, "unknown price"
        if model not in self.overrides and self.use_table:
            cached = min(max(0, int(cached_tokens)), int(input_tokens))
            batch = _table_cost(model, self.provider_id, int(input_tokens), int(output_tokens), cached, "batch")
            if batch is not None and _has_batch_variant(model, self.provider_id):
                return batch, "genai-prices batch price"
        return standard * BATCH_DISCOUNT, BATCH_SOURCE

    def call_cost(
        self, model: str, requested: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0
    ) -> float | None:
        """What a call answered by ``model`` cost: 0 when it used no tokens; priced by the model that
        answered; when its price is unknown and it is a dated snapshot of the one asked for (``requested``
        is a prefix of its name), by the one asked for; otherwise None (unknown, never the asked model's)."""
        if input_tokens == 0 and output_tokens == 0:
            return 0.0
        cost = self.cost_usd(model, input_tokens, output_tokens, cached_tokens)
        if cost is None and requested and requested != model and model.startswith(requested):
            cost = self.cost_usd(requested, input_tokens, output_tokens, cached_tokens)
        return cost


def _parse_price(model: str, value: Any) -> ModelPrice:
    price: ModelPrice | None = None
    try:
        if isinstance(value, ModelPrice):
            price = value
        elif isinstance(value, Mapping):
            cached = value.get("cached_input")
            price = ModelPrice(
                _amount(value["input"]),
                _amount(value["output"]),
                cached_input_per_million=None if cached is None else _amount(cached),
            )
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            price = ModelPrice(_amount(value[0]), _amount(value[1]))
    except (KeyError, ArithmeticError, ValueError, TypeError):
        price = None
    if price is None or not all(_sane(p) for p in (price.input_per_million, price.output_per_million)):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise PricingError(
            f'price for {model!r} must be {{"input": $/M tokens, "output": $/M tokens}} with finite, '
            f"non-negative numbers up to {MAX_PRICE:,}, got {shown}"
        )
    return price


def _amount(value: Any) -> Decimal:
    """A price from a JSON number (or a numeric string); bools, NaN, infinities and negatives refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise TypeError("not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    amount = Decimal(str(value))
    if not _sane(amount):
        raise ValueError("not a sane price")
    return amount if amount else Decimal(0)  # -0 is 0 (a cost of "-$0.00" helps no one)


def _sane(amount: Decimal) -> bool:
    return amount.is_finite() and 0 <= amount <= MAX_PRICE


@dataclass(frozen=True)
class _Rates:
    """A table price that is affine in the token counts: per call, per uncached input token, per cached
    input token, per output token."""

    per_call: Decimal
    input_per_million: Decimal
    output_per_million: Decimal
    cached_per_million: Decimal

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Decimal:
        cost = (
            self.per_call
            + self.input_per_million * input_tokens / MILLION
            + self.output_per_million * output_tokens / MILLION
        )
        if cached_tokens:
            cost += (self.cached_per_million - self.input_per_million) * cached_tokens / MILLION
        return cost


_UNKNOWN = _Rates(Decimal(-1), Decimal(-1), Decimal(-1), Decimal(-1))  # the table has no price for the model


def _table_cost(
    model: str,
    provider_id: str | None,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    processing: str | None = None,
) -> Decimal | None:
    """The bundled table's cost (no network: its updater is never started); None when unknown.

    Runs price every call as it ends, on the way to the next step, so a model's rates are looked up once
    (~0.3 ms) and applied by a few Decimal operations; a tiered price is calculated in full each time.
    """
    rates = _table_rates(model, provider_id, processing)
    if rates is _UNKNOWN:
        return None
    if rates is None:
        return _exact_table_cost(model, provider_id, input_tokens, output_tokens, cached_tokens, processing)
    return rates.cost(input_tokens, output_tokens, cached_tokens)


@lru_cache(maxsize=1024)
def _table_rates(model: str, provider_id: str | None, processing: str | None = None) -> _Rates | None:
    """The model's affine rates, ``_UNKNOWN``, or None when its price is not affine (tiers by prompt size).

    Read off the table's own calculation at no tokens and at a million of each, so they are exactly the
    table's numbers (Decimal sums of exact products: the same cost to the last digit).
    """
    from genai_prices.types import TieredPrices

    empty = _calculation(model, provider_id, 0, 0, 0, processing)
    if empty is None:
        return _UNKNOWN
    if any(isinstance(value, TieredPrices) for value in vars(empty.model_price).values()):
        return None
    per_call = Decimal(empty.total_price)
    per_input = _calculation(model, provider_id, 1_000_000, 0, 0, processing)
    per_output = _calculation(model, provider_id, 0, 1_000_000, 0, processing)
    per_cached = _calculation(model, provider_id, 1_000_000, 0, 1_000_000, processing)
    if per_input is None or per_output is None or per_cached is None:
        return None
    return _Rates(
        per_call,
        Decimal(per_input.total_price) - per_call,
        Decimal(per_output.total_price) - per_call,
        Decimal(per_cached.total_price) - per_call,
    )


@lru_cache(maxsize=4096)
def _exact_table_cost(
    model: str,
    provider_id: str | None,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    processing: str | None = None,
) -> Decimal | None:
    found = _calculation(model, provider_id, input_tokens, output_tokens, cached_tokens, processing)
    return None if found is None else Decimal(found.total_price)


def _calculation(
    model: str,
    provider_id: str | None,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    processing: str | None = None,
) -> Any | None:
    """genai-prices' calculation (a ``PriceCalculation``) for the usage; None when the model is unknown.
    ``cached_tokens`` are genai-prices' ``cache_read_tokens`` (a part of ``input_tokens``); ``processing``
    ("batch") picks the table's price variant for it, where the model has one."""
    from genai_prices import Usage, calc_price

    try:
        return calc_price(
            Usage(input_tokens=input_tokens, cache_read_tokens=cached_tokens or None, output_tokens=output_tokens),
            model_ref=model,
            provider_id=provider_id,
            price_context={"processing": processing} if processing else None,
        )
    except LookupError:
        if provider_id is None:
            return None
        return _calculation(model, None, input_tokens, output_tokens, cached_tokens, processing)  # a Llama on Ollama
    except Exception:  # noqa: BLE001 - a malformed table entry must not break a run: price unknown
        return None


@lru_cache(maxsize=1024)
def _has_batch_variant(model: str, provider_id: str | None) -> bool:
    """Whether the table has a batch price for the model (its batch calculation uses other prices)."""
    standard = _calculation(model, provider_id, 1_000_000, 1_000_000)
    batch = _calculation(model, provider_id, 1_000_000, 1_000_000, 0, "batch")
    return standard is not None and batch is not None and batch.model_price != standard.model_price


def _table_price(model: str, provider_id: str | None) -> ModelPrice | None:
    """The table's price per million input and output tokens (first tier)."""
    per_input = _table_cost(model, provider_id, 1_000_000, 0)
    per_output = _table_cost(model, provider_id, 0, 1_000_000)
    if per_input is None or per_output is None:
        return None
    return ModelPrice(per_input, per_output, source="genai-prices")
