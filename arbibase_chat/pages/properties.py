"""The Property Browser's state: filters, newest-first cards with "Load more", and the owner's
"List a property" form. The view is in `properties_view.py`.

Rents are typed in dollars ("2,400" or "$2,400.50") and sent to the services in cents.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import reflex as rx

from arbibase_chat import aio, routes
from arbibase_chat.components.property_card import PropertyCard
from arbibase_chat.pages.inbox import InboxState
from arbibase_chat.services import properties
from arbibase_chat.services.errors import DomainError, Invalid
from arbibase_chat.session import SessionState, user_view

PAGE_SIZE = 24
ALL_CITIES = "__all__"
BEDROOM_CHOICES = ["any", "1", "2", "3", "4"]
SCOPES = ["all", "mine"]
MAX_INPUT_CHARS = 300
_MONEY_NOISE = re.compile(r"[\s$,]")
# Plain digits only (no exponent, sign, NaN): what a person types, and bounded in length.
_DOLLARS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_WHOLE = re.compile(r"[0-9]{1,12}")
_DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?")

#: Form field names (the view's inputs) -> the service's names, and back for its errors.
FORM_FIELDS = {
    "title": "title",
    "address": "address",
    "city": "city",
    "state": "state",
    "rent": "monthly_rent_cents",
    "bedrooms": "bedrooms",
    "bathrooms": "bathrooms",
    "square_feet": "square_feet",
}
_SERVICE_TO_FORM = {service: form for form, service in FORM_FIELDS.items()}


def _text(value: Any) -> str:
    return value[:MAX_INPUT_CHARS] if isinstance(value, str) else ""


def dollars_to_cents(value: Any, *, label: str) -> int | None:
    """ "2,400" / "$2,400.50" -> cents; "" -> None. Raises Invalid with a sentence for people."""
    text = _MONEY_NOISE.sub("", _text(value))
    if not text:
        return None
    if not _DOLLARS.fullmatch(text):
        raise Invalid(f"{label}: enter an amount in dollars, like 2400.")
    cents = int(Decimal(text) * 100)
    if cents > properties.MAX_WHOLE_NUMBER:
        raise Invalid(f"{label}: that is more than this app can store.")
    return cents


def whole_number(value: Any, *, label: str) -> int | None:
    text = _text(value).replace(",", "").strip()
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        raise Invalid(f"{label}: enter a whole number, like 3.")
    number = int(text)
    if number > properties.MAX_WHOLE_NUMBER:
        raise Invalid(f"{label}: that is more than this app can store.")
    return number


def decimal_number(value: Any, *, label: str) -> float | None:
    text = _text(value).strip()
    if not text:
        return None
    if not _DECIMAL.fullmatch(text) or Decimal(text) > Decimal(properties.MAX_BATHROOMS):
        raise Invalid(f"{label}: enter a number from 0 to {properties.MAX_BATHROOMS:g}, like 1.5.")
    return float(text)


def listing_from_form(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's text as the service's fields, and an error per form field that is not."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("title", "address", "city", "state"):
        data[name] = _text(form.get(name)).strip()
    for name, label in (("title", "Title"), ("address", "Address"), ("city", "City")):
        if not data[name]:
            errors[name] = f"{label} is required."
    data["state"] = data["state"] or None
    parsers: list[tuple[str, str, Any]] = [
        ("rent", "Monthly rent", dollars_to_cents),
        ("bedrooms", "Bedrooms", whole_number),
        ("bathrooms", "Bathrooms", decimal_number),
        ("square_feet", "Square feet", whole_number),
    ]
    for name, label, parse in parsers:
        try:
            data[FORM_FIELDS[name]] = parse(form.get(name), label=label)
        except Invalid as exc:
            # Shown under its own labelled input: the sentence without the label.
            text = exc.message.removeprefix(f"{label}: ")
            errors[name] = text[:1].upper() + text[1:]
    return data, errors


@user_view
class PropertiesState(rx.State):
    cards: list[PropertyCard] = []
    cities: list[str] = []
    city: str = ALL_CITIES
    min_rent: str = ""  # as typed, in dollars
    max_rent: str = ""
    bedrooms: str = "any"
    scope: str = "all"  # "mine": an owner's own listings
    filter_error: str = ""
    loaded: bool = False
    has_more: bool = False
    form_open: bool = False
    form_errors: dict[str, str] = {}
    form_busy: bool = False
    _after: str = ""

    @rx.var
    def filtered(self) -> bool:
        return (
            self.city != ALL_CITIES
            or bool(self.min_rent or self.max_rent)
            or self.bedrooms != "any"
        )

    # --- backend only -----------------------------------------------------------------------

    async def _user_id(self) -> uuid.UUID | None:
        return await (await self.get_state(SessionState))._current_user_id()

    def _filters(self) -> dict[str, Any]:
        """The service's filters; Invalid (a sentence for people) when a rent is not one."""
        low = dollars_to_cents(self.min_rent, label="Min rent")
        high = dollars_to_cents(self.max_rent, label="Max rent")
        if low is not None and high is not None and low > high:
            raise Invalid("Max rent is below min rent.")
        return {
            "city": None if self.city == ALL_CITIES else self.city,
            "min_rent_cents": low,
            "max_rent_cents": high,
            "min_bedrooms": None if self.bedrooms == "any" else int(self.bedrooms),
            "mine": self.scope == "mine",
        }

    async def _fetch(self, user_id: uuid.UUID, *, more: bool) -> None:
        try:
            filters = self._filters()
        except Invalid as exc:
            self.filter_error = exc.message
            return
        self.filter_error = ""
        after = self._after if more and self._after else None
        # One more than a page: whether there is a next page, without an empty last request.
        found = await aio.call(
            properties.list_properties,
            user_id=user_id,
            after=after,
            limit=PAGE_SIZE + 1,
            **filters,
        )
        page = [PropertyCard.from_property(p) for p in found[:PAGE_SIZE]]
        if more:
            known = {card.id for card in self.cards}
            page = self.cards + [card for card in page if card.id not in known]
        self.cards = page
        self.has_more = len(found) > PAGE_SIZE
        self._after = page[-1].id if page else ""
        self.loaded = True

    async def _reload(self):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        try:
            await self._fetch(user_id, more=False)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        return None

    # --- events the browser may send ----------------------------------------------------------

    @rx.event
    async def load(self):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        await (await self.get_state(InboxState))._load_badge(user_id)
        try:
            self.cities = await aio.call(properties.list_cities, user_id=user_id)
            if self.city != ALL_CITIES and self.city not in self.cities:
                self.city = ALL_CITIES
            await self._fetch(user_id, more=False)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        return None

    @rx.event
    async def load_more(self):
        user_id = await self._user_id()
        if user_id is None or not self.has_more:
            return None
        try:
            await self._fetch(user_id, more=True)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        return None

    @rx.event
    async def set_city(self, value: str):
        if value == ALL_CITIES or (isinstance(value, str) and value in self.cities):
            self.city = value
            return await self._reload()
        return None

    @rx.event
    async def set_bedrooms(self, value: str):
        if value in BEDROOM_CHOICES:
            self.bedrooms = value
            return await self._reload()
        return None

    @rx.event
    async def set_scope(self, value: str | list[str]):
        if isinstance(value, str) and value in SCOPES:
            self.scope = value
            return await self._reload()
        return None

    @rx.event
    async def apply_rent(self, form_data: dict[str, Any]):
        self.min_rent = _text(form_data.get("min_rent")).strip()[:20]
        self.max_rent = _text(form_data.get("max_rent")).strip()[:20]
        return await self._reload()

    @rx.event
    async def clear_filters(self):
        self.city, self.bedrooms, self.min_rent, self.max_rent = ALL_CITIES, "any", "", ""
        return [
            rx.set_value("min-rent", ""),
            rx.set_value("max-rent", ""),
            PropertiesState.load,
        ]

    # --- the owner's "List a property" form ---------------------------------------------------

    @rx.event
    async def set_form_open(self, value: bool):
        self.form_open = value is True
        if not self.form_open:
            self.form_errors = {}
        return None

    @rx.event
    async def list_property(self, form_data: dict[str, Any]):
        """Create the listing; on an error the dialog stays open with what was typed."""
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(routes.LOGIN)
        data, errors = listing_from_form(form_data if isinstance(form_data, dict) else {})
        self.form_errors = errors
        if errors:
            return None
        self.form_busy = True
        try:
            created = await aio.call(properties.create_property, user_id=user_id, data=data)
        except DomainError as exc:
            self.form_errors = {_SERVICE_TO_FORM.get(exc.field or "", "form"): _sentence(exc)}
            return None
        finally:
            self.form_busy = False
        self.form_open = False
        self.scope = "mine"
        self.city, self.bedrooms, self.min_rent, self.max_rent = ALL_CITIES, "any", "", ""
        return [
            rx.toast.success(f"{created.title} is listed. Operators can now contact you."),
            PropertiesState.load,
        ]


def _sentence(exc: DomainError) -> str:
    """A service refusal as a sentence (its messages start in lower case)."""
    text = exc.message.removeprefix("invalid property: ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
