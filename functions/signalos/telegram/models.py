"""Request and response models of the Telegram linking API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkCodeIn(_Request):
    provider_id: str = Field(pattern=ID_PATTERN, description="one of your providers")


class LinkIn(_Request):
    provider_id: str = Field(pattern=ID_PATTERN, description="one of your providers")
    chat_id: int = Field(description="the Telegram chat (channel ids are negative, e.g. -100...)")


class LinkCodeOut(BaseModel):
    code: str
    provider_id: str
    chat_id: int | None = Field(description="the only chat the code works in, when bound")
    expires_at: str
    command: str = Field(description="post this in the chat (the bot must be a member/admin)")
    status: str = "awaiting_chat_confirmation"


class LinkOut(BaseModel):
    provider_id: str
    provider_name: str | None
    chat_id: int
    chat_title: str | None
    linked_at: str | None


class LinkListOut(BaseModel):
    items: list[LinkOut]
    next_cursor: str | None = None


class UnlinkedOut(BaseModel):
    deleted: bool = True
    provider_id: str
