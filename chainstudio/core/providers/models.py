"""Which models an OpenAI-compatible server offers: ``GET {base_url}/models``, through the same ``openai``
client the runs use. The Settings dialog's Test connection lists them into its model picker.

``list_models`` answers the sorted model ids, or raises ``ModelListError`` with one sentence saying what
went wrong in the user's terms (unreachable, wrong key, not an OpenAI-compatible base URL, no answer).
"""

from __future__ import annotations

from collections.abc import Iterable

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.providers.openai_compat import OpenAISettings
from chainstudio.core.text_safety import redact_url, register_secret, register_url_secrets, scrub

DEFAULT_TIMEOUT = 10.0


class ModelListError(ChainStudioError):
    """A server's model list could not be read; the message says why in one sentence."""


MAX_MODELS = 2_000  # a server listing more is not believed past this many
MAX_MODEL_ID = 200  # characters


async def list_models(
    base_url: str | None, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """The model ids the server at ``base_url`` (None: $OPENAI_BASE_URL, else OpenAI's) offers, sorted.
    As for a run: the key and the URL's credentials are scrubbed from every message, the body is bounded,
    and an id that carries a secret or is not a plain line of text is left out (it would be saved in the
    settings as a known model)."""
    import openai

    from chainstudio.core.providers import stream_limits
    from chainstudio.core.providers.base import ProviderError
    from chainstudio.core.providers.factory import endpoint_problem

    settings = OpenAISettings(base_url=base_url or None, api_key=api_key or None)
    problem = endpoint_problem(settings)
    if problem:
        raise ModelListError(problem)
    url = settings.resolved_base_url()
    key = settings.resolved_api_key()
    register_secret(key)
    register_url_secrets(url)
    shown = redact_url(url)
    client = openai.AsyncOpenAI(
        api_key=key or "not-needed",  # local servers need none; the client insists
        base_url=url,
        max_retries=0,
        timeout=timeout,
        http_client=stream_limits.http_client(),  # the answer's body bounded, as a run's
    )
    try:
        page = await client.models.list()
        return _plain_ids(getattr(model, "id", None) for model in page.data)
    except openai.AuthenticationError:
        raise ModelListError(f"{shown} refused the API key (HTTP 401): check the key") from None
    except openai.PermissionDeniedError:
        raise ModelListError(f"{shown} does not allow this key to list models (HTTP 403)") from None
    except openai.NotFoundError:
        raise ModelListError(
            f"{shown}/models was not found (HTTP 404): is this an OpenAI-compatible base URL (often ending in /v1)?"
        ) from None
    except openai.APITimeoutError:
        raise ModelListError(f"{shown} did not answer within {timeout:g} s") from None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise ModelListError(_one_line(f"cannot reach {shown}: {cause}")) from None
    except openai.APIStatusError as exc:
        raise ModelListError(_one_line(f"{shown} answered HTTP {exc.status_code}: {exc.message}")) from None
    except ProviderError as exc:  # a body over the bound, a compressed answer
        raise ModelListError(_one_line(f"{shown}: {exc}")) from None
    except (openai.APIError, ValueError, TypeError, AttributeError) as exc:  # not an OpenAI-shaped answer
        raise ModelListError(_one_line(f"{shown} gave an answer that is not a model list: {exc}")) from None
    finally:
        await client.close()


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(scrub(text).split())
    return line if len(line) <= limit else line[:limit] + "…"


def _plain_ids(ids: Iterable[object]) -> list[str]:
    kept: set[str] = set()
    for value in ids:
        if len(kept) >= MAX_MODELS:
            break
        if not isinstance(value, str) or not value or len(value) > MAX_MODEL_ID or scrub(value) != value:
            continue
        if not value.isprintable():  # control characters, line breaks, bidi overrides
            continue
        kept.add(value)
    return sorted(kept)
