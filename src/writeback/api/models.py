"""Base for request bodies: unknown fields are rejected so a typo never passes silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
