"""The AI provider for reply suggestions: any OpenAI-compatible chat-completions endpoint.

Chosen once by configuration (`get_provider()`): AI_BASE_URL unset (the default) means no
provider, and services/ai_replies.py drafts from its templates. Set, the provider POSTs
`{AI_BASE_URL}/chat/completions` with `{"model", "messages", "temperature"}` (and
`Authorization: Bearer AI_API_KEY` when a key is set) and returns the first choice's text.
That wire format is spoken by Ollama (`http://127.0.0.1:11434/v1`), vLLM, llama.cpp's server
and the hosted APIs.

Blocking (httpx.Client) with a hard timeout, AI_TIMEOUT_SECONDS: the services run on a
thread (`aio.call`), never on the event loop. Every failure — refused connection, timeout,
an HTTP error status, a body that is not the wire format — is one `ProviderError`; what the
model wrote is the service's to judge. The key is never logged or put in an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from arbibase_chat.config import Settings, get_settings

#: Largest response body read from a provider (a runaway model is not our memory's problem).
MAX_RESPONSE_BYTES = 256 * 1024


class ProviderError(Exception):
    """The provider did not answer usefully (the message is safe to log: no key, no body)."""


class ChatProvider(Protocol):
    @property
    def name(self) -> str:
        """What the API reports as `provider`, e.g. "openai-compatible:llama3.1"."""
        ...

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant's text for these chat messages; ProviderError on any failure."""
        ...


@dataclass(frozen=True)
class OpenAICompatible:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_seconds: float = 8.0
    temperature: float = 0.4

    @property
    def name(self) -> str:
        return f"openai-compatible:{self.model}"

    def complete(self, messages: list[dict[str, str]]) -> str:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": self.model, "messages": messages, "temperature": self.temperature}
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            # One timeout for connect, read and write; no retries (the user can ask again).
            with httpx.Client(timeout=self.timeout_seconds, follow_redirects=False) as client:
                response = client.post(url, json=body, headers=headers)
        except httpx.TimeoutException:
            raise ProviderError("the AI provider timed out") from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"the AI provider could not be reached ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ProviderError(f"the AI provider answered HTTP {response.status_code}")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise ProviderError("the AI provider's answer is too large")
        return _first_choice(response)


def _first_choice(response: httpx.Response) -> str:
    try:
        data: Any = response.json()
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProviderError("the AI provider's answer is not a chat completion") from None
    if not isinstance(content, str):
        raise ProviderError("the AI provider's answer has no text")
    return content


def from_settings(settings: Settings) -> ChatProvider | None:
    """The configured provider, or None (AI_BASE_URL unset: templates only)."""
    if not settings.ai_base_url:
        return None
    return OpenAICompatible(
        base_url=settings.ai_base_url,
        model=settings.ai_model,
        api_key=settings.ai_api_key or None,
        timeout_seconds=settings.ai_timeout_seconds,
        temperature=settings.ai_temperature,
    )


def get_provider() -> ChatProvider | None:
    return from_settings(get_settings())
