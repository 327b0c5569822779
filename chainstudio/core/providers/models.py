"""Which models an OpenAI-compatible server offers: ``GET {base_url}/models``, through the same ``openai``
client the runs use. The Settings dialog's Test connection lists them into its model picker.

``list_models`` answers the sorted model ids, or raises ``ModelListError`` with one sentence saying what
went wrong in the user's terms (unreachable, wrong key, not an OpenAI-compatible base URL, no answer).
"""

from __future__ import annotations

from chainstudio.core.errors import ChainStudioError
from chainstudio.core.providers.openai_compat import OpenAISettings

DEFAULT_TIMEOUT = 10.0


class ModelListError(ChainStudioError):
    """A server's model list could not be read; the message says why in one sentence."""


async def list_models(
    base_url: str | None, api_key: str | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """The model ids the server at ``base_url`` (None: $OPENAI_BASE_URL, else OpenAI's) offers, sorted."""
    import openai

    settings = OpenAISettings(base_url=base_url or None, api_key=api_key or None)
    url = settings.resolved_base_url()
    client = openai.AsyncOpenAI(
        api_key=settings.resolved_api_key() or "not-needed",  # local servers need none; the client insists
        base_url=url,
        max_retries=0,
        timeout=timeout,
    )
    try:
        page = await client.models.list()
        return sorted({model.id for model in page.data})
    except openai.AuthenticationError:
        raise ModelListError(f"{url} refused the API key (HTTP 401): check the key") from None
    except openai.PermissionDeniedError:
        raise ModelListError(f"{url} does not allow this key to list models (HTTP 403)") from None
    except openai.NotFoundError:
        raise ModelListError(
            f"{url}/models was not found (HTTP 404): is this an OpenAI-compatible base URL (often ending in /v1)?"
        ) from None
    except openai.APITimeoutError:
        raise ModelListError(f"{url} did not answer within {timeout:g} s") from None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise ModelListError(f"cannot reach {url}: {cause}") from None
    except openai.APIStatusError as exc:
        raise ModelListError(f"{url} answered HTTP {exc.status_code}: {exc.message}") from None
    except (openai.APIError, ValueError, TypeError, AttributeError) as exc:  # not an OpenAI-shaped answer
        raise ModelListError(f"{url} gave an answer that is not a model list: {exc}") from None
    finally:
        await client.close()
