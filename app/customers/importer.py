"""Bulk import of customers from CSV: streamed in, validated row by row, all or nothing.

The body is spooled (memory, then disk past 1 MiB) and parsed row by row; valid rows are
inserted in batches as they come, so memory stays flat however large the file. Any invalid row
makes the import raise 422 listing the bad rows, and the request's transaction rolls back every
batch already inserted: nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.domains import email_domain
from app.core.errors import Unprocessable
from app.core.fields import FieldSpec, validate_values
from app.core.outbox import actor_of
from app.core.scope import DeskScope
from app.core.text import NUL, NUL_MESSAGE
from app.customers.schemas import CustomerRead, ImportResult, Phone, normalize_email
from app.customers.service import resolve_organization
from app.desks import service as desks
from app.fields import service as fields
from app.models import Customer, Desk, Event, FieldEntity, Organization
from app.organizations import service as organizations

BASE_COLUMNS = ("email", "name", "organization", "phone")
BATCH_SIZE = 1000
MAX_REPORTED_ERRORS = 100
SPOOL_BYTES = 1 << 20

_PHONE = TypeAdapter(Phone)


@dataclass
class _Row:
    line: int
    email: str
    name: str
    organization: str
    phone: str | None
    custom_fields: dict[str, Any]


@dataclass
class _Import:
    session: AsyncSession
    scope: DeskScope
    desk: Desk
    on_existing: str
    rows: int = 0
    created: int = 0
    skipped: int = 0
    organizations_created: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid_lines: set[int] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=dict)
    orgs_by_name: dict[str, int] = field(default_factory=dict)
    orgs_by_domain: dict[str, int | None] = field(default_factory=dict)

    def error(self, line: int, column: str, msg: str, type_: str) -> None:
        self.invalid_lines.add(line)
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"loc": ["body", "row", line, column], "msg": msg, "type": type_})

    async def flush(self, batch: list[_Row]) -> None:
        if not batch:
            return
        existing = set((await self.session.scalars(select(Customer.email).where(
            Customer.desk_id == self.desk.id,
            Customer.email.in_([r.email for r in batch])))).all())
        keep = []
        for row in batch:
            if row.email not in existing:
                keep.append(row)
            elif self.on_existing == "skip":
                self.skipped += 1
            else:
                self.error(row.line, "email", f"desk {self.desk.id} already has this customer",
                           "customer_exists")
        if self.invalid_lines or not keep:
            return  # the import fails anyway: go on validating, write nothing more
        values = [await self._values(row) for row in keep]
        # executemany form: one cached statement, batched by "insertmanyvalues"
        inserted = (await self.session.scalars(insert(Customer).returning(Customer), values)).all()
        self.created += len(inserted)
        actor = actor_of(self.scope)
        await self.session.execute(insert(Event), [
            {"type": "customer.created", "desk_id": self.desk.id, "subject_type": "customer",
             "subject_id": c.id, "actor": actor,
             "data": CustomerRead.model_validate(c).model_dump(mode="json")}
            for c in inserted
        ])

    async def _values(self, row: _Row) -> dict[str, Any]:
        domain = email_domain(row.email)
        if row.organization:
            org_id = await self._organization_named(row.organization)
        else:
            if domain not in self.orgs_by_domain:
                before = await self._count_orgs()
                self.orgs_by_domain[domain] = await resolve_organization(
                    self.session, self.desk, domain, self.scope)
                self.organizations_created += await self._count_orgs() - before
            org_id = self.orgs_by_domain[domain]
        return {"desk_id": self.desk.id, "email": row.email, "email_domain": domain,
                "name": row.name, "phone": row.phone, "organization_id": org_id,
                "custom_fields": row.custom_fields}

    async def _count_orgs(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(Organization).where(
            Organization.desk_id == self.desk.id)) or 0

    async def _organization_named(self, name: str) -> int:
        key = name.lower()
        if key not in self.orgs_by_name:
            found = await self.session.scalar(select(Organization.id).where(
                Organization.desk_id == self.desk.id, func.lower(Organization.name) == key)
                .order_by(Organization.id).limit(1))
            if found is None:
                found = await organizations.create_named(self.session, self.desk.id, name,
                                                         self.scope)
                self.organizations_created += 1
            self.orgs_by_name[key] = found
        return self.orgs_by_name[key]


def _parse_row(state: _Import, specs: list[FieldSpec], header: list[str], line: int,
               cells: list[str]) -> _Row | None:
    if len(cells) != len(header):
        state.error(line, "*", f"has {len(cells)} cells; the header has {len(header)}",
                    "row_length")
        return None
    record = dict(zip(header, (c.strip() for c in cells), strict=True))
    ok = True
    for column, cell in record.items():
        if NUL in cell:  # PostgreSQL cannot store it
            state.error(line, column, NUL_MESSAGE, "string_nul")
            ok = False
    if not ok:
        return None
    try:
        email = normalize_email(record["email"])
    except ValidationError:
        state.error(line, "email", "must be an email address", "email")
        email, ok = "", False
    if email and email in state.seen:
        state.error(line, "email", f"repeats the email of row {state.seen[email]}", "duplicate")
        ok = False
    elif email:
        state.seen[email] = line
    name = record.get("name", "")
    if len(name) > 200:
        state.error(line, "name", "must have at most 200 characters", "string_too_long")
        ok = False
    phone = record.get("phone") or None
    if phone is not None:
        try:
            phone = _PHONE.validate_python(phone)
        except ValidationError:
            state.error(line, "phone", "must be a phone number", "phone")
            ok = False
    organization = record.get("organization", "")
    if len(organization) > 200:
        state.error(line, "organization", "must have at most 200 characters", "string_too_long")
        ok = False
    custom_raw = {k: v for k, v in record.items() if k not in BASE_COLUMNS}
    custom, errors = validate_values(specs, custom_raw, ["body", "row", line], from_text=True)
    for e in errors:
        state.error(line, e["loc"][-1], e["msg"], e["type"])
    if errors or not ok:
        return None
    return _Row(line, email, name, organization, phone,
                {k: v for k, v in custom.items() if v is not None})


def _check_header(raw: list[str] | None, specs: list[FieldSpec]) -> list[str]:
    if raw is None:
        raise Unprocessable("The file is empty.", errors=[
            {"loc": ["body"], "msg": "no header row", "type": "empty_file"}])
    header = [h.strip().lower() for h in raw]
    allowed = set(BASE_COLUMNS) | {s.key for s in specs}
    errors = [{"loc": ["body", "header", h or i], "msg": "unknown column", "type": "unknown_column"}
              for i, h in enumerate(header) if h not in allowed]
    errors += [{"loc": ["body", "header", h], "msg": "repeated column", "type": "duplicate"}
               for h in sorted({h for h in header if header.count(h) > 1})]
    errors += [{"loc": ["body", "header", s.key], "msg": "a required custom field needs a column",
                "type": "missing"} for s in specs if s.required and s.key not in header]
    if "email" not in header:
        errors.append({"loc": ["body", "header", "email"], "msg": "the email column is required",
                       "type": "missing"})
    if errors:
        raise Unprocessable("The CSV header is not valid.", errors=errors)
    return header


async def import_csv(session: AsyncSession, scope: DeskScope, desk_id: int,
                     chunks: AsyncIterator[bytes], *, on_existing: str = "error",
                     progress: Callable[[int], None] | None = None) -> ImportResult:
    """`progress(bytes_parsed)` is called after each batch (for a progress bar)."""
    desk = await desks.get_active(session, scope, desk_id)
    specs = await fields.specs(session, desk.id, FieldEntity.customer)
    state = _Import(session, scope, desk, on_existing)
    with SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        try:
            reader = csv.reader(text)
            header = _check_header(next(reader, None), specs)
            batch: list[_Row] = []
            start = reader.line_num + 1  # where the next record begins; a quoted cell may
            for cells in reader:         # span lines, and errors name a record's first line
                line, start = start, reader.line_num + 1
                if not any(c.strip() for c in cells):
                    continue
                state.rows += 1
                row = _parse_row(state, specs, header, line, cells)
                if row is not None:
                    batch.append(row)
                if len(batch) >= BATCH_SIZE:
                    await state.flush(batch)
                    batch = []
                    if progress is not None:
                        progress(spool.tell())
            await state.flush(batch)
            if progress is not None:
                progress(spool.tell())
        except UnicodeDecodeError as exc:
            raise Unprocessable("The file is not UTF-8 text.", errors=[
                {"loc": ["body"], "msg": str(exc), "type": "encoding"}]) from exc
        except csv.Error as exc:
            raise Unprocessable(f"The file is not valid CSV: {exc}", errors=[
                {"loc": ["body", "row", reader.line_num], "msg": str(exc), "type": "csv"}]) from exc
        finally:
            text.detach()
    if state.invalid_lines:
        raise Unprocessable(
            f"{len(state.invalid_lines)} of {state.rows} rows are invalid; nothing was imported.",
            errors=state.errors, invalid_rows=len(state.invalid_lines),
        )
    return ImportResult(desk_id=desk.id, rows=state.rows, created=state.created,
                        skipped=state.skipped, organizations_created=state.organizations_created)
