from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class InboundEmailResult(BaseModel):
    ticket_id: int | None = Field(description="The ticket created or replied to; null when the "
                                              "message was ignored (auto-reply, bounce, bulk or list "
                                              "mail).")
    created: bool = Field(description="true: this message created the ticket.")


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    comment_id: int | None = Field(description="The comment a reply became; null: the message "
                                               "that created the ticket.")
    filename: str = Field(description="As the mail named it, made safe: plain text, no path, "
                                      "no control or format characters, no leading dot.")
    content_type: str
    size: int = Field(description="Bytes.")
    created_at: datetime
