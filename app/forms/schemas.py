"""Web forms, submissions and surveys as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.core.fields import TEXT_TYPES, FieldSpec
from app.core.ids import Id
from app.core.text import Text, plain_text

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
MAPPING_PATTERN = r"^(subject|description|priority|requester\.email|requester\.name|tags|" \
                  r"(custom_fields\.)?[a-z][a-z0-9_]{0,63})$"
MAX_FIELDS = 100


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty (markup is removed)")
    return value.strip()


PlainText = Annotated[Text, AfterValidator(plain_text)]
Name = Annotated[PlainText, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, max_length=100, examples=["contact-us"])]


class FormKind(StrEnum):
    ticket = "ticket"
    survey = "survey"


class FormField(FieldSpec):
    """A typed field (see custom fields) and where its answer goes on the ticket."""

    maps_to: str | None = Field(
        None, pattern=MAPPING_PATTERN, examples=["requester.email"],
        description="`subject`, `description`, `priority`, `requester.email`, `requester.name`, "
        "`tags`, or a ticket custom field key (`custom_fields.KEY` or `KEY`). Unmapped answers "
        "are kept with the submission and listed in the ticket description.")

    @model_validator(mode="before")
    @classmethod
    def _plain_labels(cls, data: Any) -> Any:
        """What a form shows its visitors is plain text: markup in labels, help, options and a
        text default is removed."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in ("label", "help"):
            if isinstance(data.get(name), str):
                data[name] = plain_text(data[name])
        if isinstance(data.get("options"), list):
            data["options"] = [
                {k: plain_text(v) if isinstance(v, str) else v for k, v in o.items()}
                if isinstance(o, dict) else o for o in data["options"]]
        if isinstance(data.get("type"), str) and data["type"] in TEXT_TYPES \
                and isinstance(data.get("default"), str):
            data["default"] = plain_text(data["default"])
        return data

    def spec(self) -> FieldSpec:
        return FieldSpec.model_validate(self.model_dump(exclude={"maps_to"}))


def _unique_keys(fields: list[FormField] | None) -> list[FormField] | None:
    if fields is None:
        return None
    seen: set[str] = set()
    for f in fields:
        if f.key in seen:
            raise ValueError(f"field key {f.key!r} is used twice")
        seen.add(f.key)
    return fields


Fields = Annotated[list[FormField], Field(max_length=MAX_FIELDS), AfterValidator(_unique_keys)]


class FormCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"desk_id": 1,
         "name": "Contact us",
         "slug": "contact-us",
         "description": "We answer within a day."},
    ]})

    desk_id: Id
    name: Name = Field(examples=["Contact us"])
    slug: Slug = Field(description="Unique across desks: the public address of the form.")
    kind: FormKind = Field(FormKind.ticket, description="`ticket` forms open tickets; `survey` "
                           "forms only keep their submissions.")
    description: PlainText = Field("", max_length=5000)
    published: bool = Field(False, description="Only published forms are served publicly. A "
                            "published ticket form needs a required email field mapped to "
                            "`requester.email`.")
    fields: Fields = Field(default_factory=list)


class FormUpdate(BaseModel):
    """Only the members sent change. A change of a published form's fields makes a new version."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Contact support", "description": "We answer within a working day."},
    ]})

    name: Name | None = None
    slug: Slug | None = None
    description: PlainText | None = Field(None, max_length=5000)
    published: bool | None = None
    fields: Fields | None = None


class FormRead(BaseModel):
    id: int
    desk_id: int
    name: str
    slug: str
    kind: FormKind
    description: str
    published: bool
    version: int = Field(description="Bumped by every change of a published form's fields; "
                         "submissions record the version they answered.")
    fields: list[FormField]
    public_path: str = Field(examples=["/v1/public/forms/contact-us"])
    created_at: datetime
    updated_at: datetime


class FormVersionRead(BaseModel):
    form_id: int
    version: int
    fields: list[FormField]
    created_at: datetime | None = Field(description="When the version was first published "
                                        "(null: the current, never published draft).")


class PublicForm(BaseModel):
    """A published form as visitors see it: no desk, no mappings."""

    slug: str
    name: str
    description: str
    kind: FormKind
    version: int
    fields: list[FieldSpec]
    schema_path: str = Field(examples=["/v1/public/forms/contact-us/schema"])
    submit_path: str = Field(examples=["/v1/public/forms/contact-us/submissions"])


class SubmissionAccepted(BaseModel):
    number: int | None = Field(description="The ticket's number in its desk (null for a survey "
                               "form, which opens no ticket).", examples=[1042])


class SubmissionRead(BaseModel):
    id: int
    desk_id: int
    form_id: int
    version: int
    ticket_id: int | None
    answers: dict[str, Any] = Field(description="As submitted (validated, as plain text).")
    created_at: datetime


SUBMISSION_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": True,
        "description": "The flat `{key: value}` object `GET /v1/forms/{id}/schema` describes.",
        "example": {"email": "ana@acme.example", "subject": "Printer on fire"}}}},
}


# --- surveys ---------------------------------------------------------------------------------

class SurveyLink(BaseModel):
    token: str = Field(description="Signed; carries the ticket; single use; expires.")
    url_path: str = Field(examples=["/v1/public/surveys/eyJhbGciOi..."])
    expires_at: datetime


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"rating": 5, "comment": "Fast and friendly."},
    ]})

    rating: int = Field(ge=1, le=5, description="1 (bad) to 5 (great).")
    comment: PlainText = Field("", max_length=5000)


class SurveyRead(BaseModel):
    ticket_id: int
    desk_id: int
    rating: int
    comment: str
    created_at: datetime


class PublicSurvey(BaseModel):
    """What a survey link is about, for the page that asks."""

    ticket_number: int
    subject: str
    answered: bool
    expires_at: datetime


class SurveyThanks(BaseModel):
    ticket_number: int
    rating: int
    comment: str
    created_at: datetime
