"""The ROI Calculator: the figures of a rental-arbitrage unit (pure math, services/roi.py)."""

from __future__ import annotations

from fastapi import APIRouter

from arbibase_chat.api.deps import CurrentUser
from arbibase_chat.api.schemas import RoiIn, RoiOut
from arbibase_chat.services import roi

router = APIRouter(prefix="/api/roi", tags=["roi"])


@router.post("", response_model=RoiOut, name="compute_roi")
async def compute_roi(body: RoiIn, _user_id: CurrentUser) -> RoiOut:
    """Monthly and annual net cash flow, cash-on-cash, payback, break-even occupancy and a
    sensitivity grid (signed-in users). A bad input is a 422 whose `field` names it."""
    # No database and microseconds of work: computed right here, not on a thread.
    # Invalid (field = the camelCase key) becomes the usual 422 body (api/errors.py).
    result = roi.compute(body.model_dump(exclude_none=True))
    return RoiOut.model_validate(result.as_dict())
