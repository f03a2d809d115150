"""The Property Browser: browse listings; owners list their property."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from arbibase_chat.api.deps import CurrentUser, Db, run
from arbibase_chat.api.schemas import PropertyIn, PropertyList
from arbibase_chat.models import PropertyPublic
from arbibase_chat.services import properties

router = APIRouter(prefix="/api/properties", tags=["properties"])


_WHOLE = {"minimum": 0, "maximum": properties.MAX_WHOLE_NUMBER}


@router.get("", response_model=PropertyList, name="list_properties")
async def list_properties(
    user_id: CurrentUser,
    db: Db,
    city: Annotated[
        str | None, Query(max_length=120, description="Whole city name, any letter case")
    ] = None,
    ownerId: uuid.UUID | None = None,
    mine: Annotated[bool, Query(description="Only my own listings")] = False,
    minRent: Annotated[
        int | None,
        Query(
            description="Lowest monthly rent, in cents like `monthly_rent_cents` (inclusive)",
            json_schema_extra=_WHOLE,
        ),
    ] = None,
    maxRent: Annotated[
        int | None,
        Query(
            description="Highest monthly rent, in cents like `monthly_rent_cents` (inclusive)",
            json_schema_extra=_WHOLE,
        ),
    ] = None,
    minBedrooms: Annotated[
        int | None, Query(description="At least this many bedrooms", json_schema_extra=_WHOLE)
    ] = None,
    after: Annotated[uuid.UUID | None, Query(description="Next page: the last id seen")] = None,
    limit: Annotated[int | None, Query(json_schema_extra={"minimum": 1, "maximum": 200})] = None,
) -> PropertyList:
    """Browse listings (signed-in users), newest first, keyset-paginated by `after`.

    Rents are in cents (`minRent=200000` is $2,000/month). A listing without a rent or a
    number of bedrooms does not match a bound on it.
    """
    items = await run(
        properties.list_properties,
        user_id=user_id,
        city=city,
        owner_id=ownerId,
        mine=mine,
        min_rent_cents=minRent,
        max_rent_cents=maxRent,
        min_bedrooms=minBedrooms,
        after=after,
        limit=limit,
        db=db,
    )
    return PropertyList(data=items)


@router.post("", status_code=201, response_model=PropertyPublic, name="create_property")
async def create_property(body: PropertyIn, user_id: CurrentUser, db: Db) -> PropertyPublic:
    """List a property (owner accounts only)."""
    return await run(properties.create_property, user_id=user_id, data=body.model_dump(), db=db)
