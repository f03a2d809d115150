"""Properties: owners list them; everyone signed in can browse them.

Browsing is newest first, keyset-paginated on (created_at, id): `after` is the last id seen,
so a page never repeats or skips a listing while others are added above it.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from arbibase_chat.models import MessagingThread, Property, PropertyCreate, PropertyPublic, User
from arbibase_chat.services import policy, validation
from arbibase_chat.services._tx import reading, transaction
from arbibase_chat.services.errors import Invalid, NotFound


def _public(prop: Property) -> PropertyPublic:
    return PropertyPublic.model_validate(prop, from_attributes=True)


def create_property(
    *, user_id: uuid.UUID, data: PropertyCreate | dict[str, Any], db: Engine | None = None
) -> PropertyPublic:
    try:
        fields = PropertyCreate.model_validate(data)
    except ValidationError as exc:
        # Name the first field at fault, so a form can show the error beside it.
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else None
        raise Invalid(f"Invalid property: {field}: {first['msg']}", field=field) from None
    except ValueError as exc:
        raise Invalid(f"Invalid property: {exc}") from None
    values = fields.model_dump()
    _check_numbers(values)
    for name, limit in (("title", 200), ("address", 300), ("city", 120)):
        values[name] = validation.clean_text(
            values[name], field=name, max_chars=limit, single_line=True
        )
    if values.get("state") is not None:
        values["state"] = (
            validation.clean_text(
                values["state"], field="state", max_chars=60, single_line=True, required=False
            )
            or None
        )
    with transaction(db, as_user=user_id) as (session, _events):
        policy.require_account(session, user_id=user_id, action="list_property")
        prop = Property(owner_id=user_id, **values)
        session.add(prop)
        session.flush()
        return _public(prop)


# The integer columns are INTEGER on Postgres; larger values would fail at the database.
MAX_WHOLE_NUMBER = 2**31 - 1
MAX_BATHROOMS = 1_000.0


def _check_numbers(values: dict[str, Any]) -> None:
    for name in ("monthly_rent_cents", "bedrooms", "square_feet"):
        value = values.get(name)
        if value is not None and value > MAX_WHOLE_NUMBER:
            raise Invalid(f"{name} must be at most {MAX_WHOLE_NUMBER}", field=name)
    bathrooms = values.get("bathrooms")
    if bathrooms is not None and not (math.isfinite(bathrooms) and bathrooms <= MAX_BATHROOMS):
        raise Invalid(f"Bathrooms must be a number up to {MAX_BATHROOMS:g}", field="bathrooms")


def get_property(
    *, user_id: uuid.UUID, property_id: Any, db: Engine | None = None
) -> PropertyPublic:
    pid = validation.as_uuid(property_id, field="property_id")
    with reading(db, as_user=user_id) as session:
        prop = session.get(Property, pid)
        if prop is None:
            raise NotFound("Property not found")
        return _public(prop)


class PropertyDetails(PropertyPublic):
    """One listing as its page shows it: with the owner's name, and for the owner themself
    how many operators negotiate on it (None for anyone else)."""

    owner_display_name: str
    negotiations: int | None = None


def get_property_details(
    *, user_id: uuid.UUID, property_id: Any, db: Engine | None = None
) -> PropertyDetails:
    pid = validation.as_uuid(property_id, field="property_id")
    with reading(db, as_user=user_id) as session:
        prop = session.get(Property, pid)
        if prop is None:
            raise NotFound("Property not found")
        # Columns, not the entity: requests may not read password hashes (alembic 0004).
        name = session.scalar(select(col(User.display_name)).where(col(User.id) == prop.owner_id))
        negotiations = None
        if prop.owner_id == user_id:
            negotiations = _active_operators(session, property_id=pid, owner_id=user_id)
        return PropertyDetails(
            **_public(prop).model_dump(), owner_display_name=name or "", negotiations=negotiations
        )


def _active_operators(session: Session, *, property_id: uuid.UUID, owner_id: uuid.UUID) -> int:
    query = select(func.count(func.distinct(col(MessagingThread.operator_id)))).where(
        col(MessagingThread.property_id) == property_id,
        col(MessagingThread.owner_id) == owner_id,
        col(MessagingThread.status) == "active",
    )
    return int(session.scalar(query) or 0)


def _whole_number(value: Any, *, field: str) -> int | None:
    """An optional filter bound: a whole number from 0 to MAX_WHOLE_NUMBER."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be a whole number", field=field)
    if not 0 <= value <= MAX_WHOLE_NUMBER:
        raise Invalid(f"{field} must be between 0 and {MAX_WHOLE_NUMBER}", field=field)
    return value


def list_properties(
    *,
    user_id: uuid.UUID,
    city: Any = None,
    owner_id: Any = None,
    mine: bool = False,
    min_rent_cents: Any = None,
    max_rent_cents: Any = None,
    min_bedrooms: Any = None,
    after: Any = None,
    limit: int | None = None,
    db: Engine | None = None,
) -> list[PropertyPublic]:
    """Browse listings (`user_id`: who browses), newest first, keyset-paginated by `after`
    (the last id of the previous page).

    `city` matches whole, trimmed and case-insensitively; `mine` keeps the caller's own
    listings; rent bounds are inclusive, in cents; a listing without a rent (or bedrooms)
    does not match a bound on it.
    """
    size = validation.page_limit(limit)
    wanted_city = validation.clean_text(
        city, field="city", max_chars=120, required=False, single_line=True
    )
    low = _whole_number(min_rent_cents, field="min_rent_cents")
    high = _whole_number(max_rent_cents, field="max_rent_cents")
    if low is not None and high is not None and low > high:
        raise Invalid("max_rent_cents must not be below min_rent_cents", field="max_rent_cents")
    beds = _whole_number(min_bedrooms, field="min_bedrooms")
    if not isinstance(mine, bool):
        raise Invalid("mine must be true or false", field="mine")
    query = select(Property)
    if wanted_city:
        # Both sides through the database's lower(): SQLite's folds ASCII only.
        query = query.where(func.lower(col(Property.city)) == func.lower(wanted_city))
    if owner_id is not None:
        query = query.where(
            col(Property.owner_id) == validation.as_uuid(owner_id, field="owner_id")
        )
    if mine:
        query = query.where(col(Property.owner_id) == user_id)
    if low is not None:
        query = query.where(col(Property.monthly_rent_cents) >= low)
    if high is not None:
        query = query.where(col(Property.monthly_rent_cents) <= high)
    if beds is not None:
        query = query.where(col(Property.bedrooms) >= beds)
    last = validation.as_uuid(after, field="after") if after is not None else None
    newest_first = (col(Property.created_at).desc(), col(Property.id).desc())
    with reading(db, as_user=user_id) as session:
        if last is not None:
            seen_at = session.scalar(
                select(col(Property.created_at)).where(col(Property.id) == last)
            )
            if seen_at is None:
                raise Invalid("after is not the id of a listing", field="after")
            query = query.where(
                or_(
                    col(Property.created_at) < seen_at,
                    and_(col(Property.created_at) == seen_at, col(Property.id) < last),
                )
            )
        return [_public(p) for p in session.scalars(query.order_by(*newest_first).limit(size))]


MAX_CITIES = 500


def list_cities(*, user_id: uuid.UUID, db: Engine | None = None) -> list[str]:
    """The distinct cities with listings, for a filter menu: one spelling per city (however
    owners capitalized it), alphabetical."""
    query = (
        select(func.min(col(Property.city)))
        .group_by(func.lower(col(Property.city)))
        .order_by(func.lower(col(Property.city)))
        .limit(MAX_CITIES)
    )
    with reading(db, as_user=user_id) as session:
        return [str(c) for c in session.scalars(query) if c]
