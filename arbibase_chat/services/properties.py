"""Properties: owners list them; everyone signed in can browse them."""

from __future__ import annotations

import math
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from arbibase_chat.models import Property, PropertyCreate, PropertyPublic
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
    except ValueError as exc:
        raise Invalid(f"invalid property: {exc}") from None
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
        raise Invalid(f"bathrooms must be a number up to {MAX_BATHROOMS:g}", field="bathrooms")


def get_property(
    *, user_id: uuid.UUID, property_id: Any, db: Engine | None = None
) -> PropertyPublic:
    pid = validation.as_uuid(property_id, field="property_id")
    with reading(db, as_user=user_id) as session:
        prop = session.get(Property, pid)
        if prop is None:
            raise NotFound("property not found")
        return _public(prop)


def list_properties(
    *,
    user_id: uuid.UUID,
    city: str | None = None,
    owner_id: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    limit: int | None = None,
    db: Engine | None = None,
) -> list[PropertyPublic]:
    """Browse listings (`user_id`: who browses), keyset-paginated by id order of listing."""
    size = validation.page_limit(limit)
    query = select(Property)
    if city:
        query = query.where(col(Property.city) == city)
    if owner_id is not None:
        query = query.where(col(Property.owner_id) == owner_id)
    if after is not None:
        query = query.where(col(Property.id) > after)
    query = query.order_by(col(Property.id)).limit(size)
    with reading(db, as_user=user_id) as session:
        return [_public(p) for p in session.scalars(query)]
