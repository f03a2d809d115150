"""Demo data for `make run`: idempotent, built through the services like real use.

Re-running finds the same users, properties and threads, and the messages carry fixed
client_msg_ids, so a second run adds nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from arbibase_chat.models import PropertyPublic, UserPublic
from arbibase_chat.services import (
    accounts,
    deals,
    messages,
    offer_terms,
    offers,
    properties,
    threads,
    verification,
)
from arbibase_chat.services.errors import Conflict

DEMO_PASSWORD = "arbibase-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    role: str
    tier: str
    verified: bool
    note: str
    staff: bool = False


DEMO_USERS = (
    DemoUser(
        "alice@demo.arbibase.test", "Alice Carter", "operator", "premium", True, "operator, premium"
    ),
    DemoUser("ben@demo.arbibase.test", "Ben Ortiz", "operator", "beta", True, "operator, beta"),
    DemoUser("olivia@demo.arbibase.test", "Olivia Hart", "owner", "pro", True, "verified owner"),
    DemoUser(
        "oscar@demo.arbibase.test",
        "Oscar Lee",
        "owner",
        "beta",
        False,
        "unverified owner, claim under review",
    ),
    DemoUser(
        "sam@demo.arbibase.test",
        "Sam Rivera",
        "operator",
        "beta",
        True,
        "ArbiBase staff: /staff/verifications",
        staff=True,
    ),
)
# Oscar's proof of ownership, under review (a one-page PDF).
PENDING_CLAIM = ("oscar@demo.arbibase.test", "lakeside-cottage-deed.pdf", "Deed and tax bill.")
DEMO_PROOF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

PROPERTIES = {
    "olivia@demo.arbibase.test": [
        ("Bayview 3BR Townhouse", "41 Bayview Dr", "Tampa", "FL", 320_000, 3, 2.5, 1650),
        ("Midtown 2BR Loft", "900 Peachtree St NE #1204", "Atlanta", "GA", 260_000, 2, 2.0, 1100),
        # More listings without conversations, so the Property Browser has something to filter:
        # five cities, rents from $1,650 to $4,200, studios to four bedrooms.
        ("Harbour Island 2BR Condo", "250 Harbour Island Dr", "Tampa", "FL", 285_000, 2, 2.0, 1180),
        ("Seminole Heights Bungalow", "4012 N Central Ave", "Tampa", "FL", 240_000, 3, 2.0, 1420),
        ("Brickell 1BR, Bay View", "1100 S Miami Ave #2208", "Miami", "FL", 310_000, 1, 1.0, 760),
        ("Little Havana 3BR House", "1520 SW 6th St", "Miami", "FL", 395_000, 3, 2.0, 1600),
        ("Old Fourth Ward Studio", "680 Ralph McGill Blvd", "Atlanta", "GA", 165_000, 0, 1.0, 520),
        ("East Nashville 4BR", "1107 Fatherland St", "Nashville", "TN", 420_000, 4, 3.0, 2300),
    ],
    "oscar@demo.arbibase.test": [
        ("Lakeside Cottage", "7 Shoreline Rd", "Austin", "TX", 210_000, 2, 1.0, 900),
        ("South Congress 1BR", "1600 S Congress Ave #210", "Austin", "TX", 195_000, 1, 1.0, 700),
        ("Mueller 3BR Family Home", "4800 Berkman Dr", "Austin", "TX", 330_000, 3, 2.5, 1850),
        ("Germantown 2BR Townhome", "1300 4th Ave N", "Nashville", "TN", 275_000, 2, 2.5, 1350),
    ],
}

CONVERSATIONS = [
    (
        "alice@demo.arbibase.test",
        "Bayview 3BR Townhouse",
        "Mid-term lease for Bayview",
        ["Offer Sent"],
        [
            (
                "alice",
                "Hi Olivia, I run 6 furnished rentals in Tampa and would love to lease Bayview for 24 months.",
            ),
            ("olivia", "Hi Alice, thanks for reaching out. Are you planning short-term stays?"),
            (
                "alice",
                "Yes, 3-30 night stays, professionally cleaned, with a $2M liability policy.",
            ),
            (
                "alice",
                "I can offer $3,350/month with a 2-month deposit. Happy to share my ROI numbers.",
            ),
            ("olivia", "That sounds promising. Could you send the lease draft?"),
        ],
    ),
    (
        "ben@demo.arbibase.test",
        "Midtown 2BR Loft",
        "Loft availability",
        [],
        [
            ("ben", "Hello! Is the Midtown loft still available from January?"),
            ("olivia", "It is. The HOA allows 30+ night stays only, is that workable for you?"),
        ],
    ),
    (
        "alice@demo.arbibase.test",
        "Lakeside Cottage",
        "Lakeside Cottage lease",
        [],
        [("alice", "Hi Oscar, would you consider a 12-month lease for the cottage?")],
    ),
]


def _user(db: Engine | None, demo: DemoUser) -> UserPublic:
    try:
        return accounts.sign_up(
            email=demo.email,
            password=DEMO_PASSWORD,
            display_name=demo.display_name,
            role=demo.role,
            tier=demo.tier,
            verified=demo.verified,
            db=db,
        )
    except Conflict:
        return accounts.authenticate(email=demo.email, password=DEMO_PASSWORD, db=db)


def seed_demo(db: Engine | None = None) -> dict[str, UserPublic]:
    users = {demo.email: _user(db, demo) for demo in DEMO_USERS}
    by_title = {}
    for email, listings in PROPERTIES.items():
        owner = users[email]
        existing = {
            p.title: p
            for p in properties.list_properties(user_id=owner.id, owner_id=owner.id, db=db)
        }
        for title, address, city, state, rent, beds, baths, sqft in listings:
            by_title[title] = existing.get(title) or properties.create_property(
                user_id=owner.id,
                data={
                    "title": title,
                    "address": address,
                    "city": city,
                    "state": state,
                    "monthly_rent_cents": rent,
                    "bedrooms": beds,
                    "bathrooms": baths,
                    "square_feet": sqft,
                },
                db=db,
            )
    by_first_name = {u.display_name.split()[0].lower(): u for u in users.values()}
    for operator_email, title, subject, tags, lines in CONVERSATIONS:
        prop = by_title[title]
        operator = users[operator_email]
        thread = threads.get_or_create_thread(
            user_id=operator.id, property_id=prop.id, owner_id=prop.owner_id, subject=subject, db=db
        )
        for number, (who, body) in enumerate(lines):
            messages.send_message(
                user_id=by_first_name[who].id,
                thread_id=thread.id,
                body=body,
                client_msg_id=f"demo-{thread.id}-{number}",
                db=db,
            )
        if tags:
            threads.update_thread(user_id=operator.id, thread_id=thread.id, add_tags=tags, db=db)
    _seed_offers(users, by_title, db)
    for demo in DEMO_USERS:
        if demo.staff and not users[demo.email].is_staff:
            users[demo.email] = accounts.set_staff(email=demo.email, db=db)
    email, filename, note = PENDING_CLAIM
    owner = users[email]
    if not owner.verified and verification.my_claim(user_id=owner.id, db=db) is None:
        verification.submit_claim(
            user_id=owner.id, filename=filename, source=io.BytesIO(DEMO_PROOF), note=note, db=db
        )
    return users


def _terms(rent: int, months: int, **more: object) -> dict[str, object]:
    start = offer_terms.default_start_date()
    return {"monthlyRent": rent, "leaseMonths": months, "startDate": start, **more}


def _seed_offers(
    users: dict[str, UserPublic], by_title: dict[str, PropertyPublic], db: Engine | None
) -> None:
    """Offers in several states: a live counter, an agreed deal with its lease drafted (after
    a declined first offer), a withdrawn offer and one waiting for an unverified owner.
    Skipped for a negotiation that already has offers (the seed runs on every start)."""
    alice, ben = users["alice@demo.arbibase.test"], users["ben@demo.arbibase.test"]
    olivia = users["olivia@demo.arbibase.test"]
    roi_inputs = {
        "monthlyRent": 3350,
        "adr": 245,
        "occupancyPct": 72,
        "cleaningFeePerStay": 95,
        "cleaningCostPerStay": 80,
        "managementPct": 0,
        "utilities": 320,
        "internet": 70,
        "insurance": 110,
        "supplies": 90,
        "software": 60,
        "deposit": 6700,
        "furnishingCost": 18000,
        "setupCost": 2500,
    }

    def fresh(operator: UserPublic, title: str) -> bool:
        prop = by_title[title]
        opened = threads.get_or_create_thread(
            user_id=operator.id, property_id=prop.id, owner_id=prop.owner_id, db=db
        )
        return not offers.list_offers(user_id=operator.id, thread_id=opened.id, db=db)

    if fresh(alice, "Bayview 3BR Townhouse"):
        first = offers.send_offer(
            user_id=alice.id,
            property_id=by_title["Bayview 3BR Townhouse"].id,
            terms=_terms(
                3350,
                24,
                deposit=6700,
                insuranceCoverage=2_000_000,
                maintenanceThreshold=300,
                annualEscalatorPct=3,
            ),
            roi_inputs=roi_inputs,
            share_numbers=True,
            message="As promised: my offer, with my numbers attached.",
            db=db,
        )
        offers.counter_offer(
            user_id=olivia.id,
            offer_id=first.offer_id,
            terms=_terms(
                3500,
                24,
                deposit=7000,
                insuranceCoverage=2_000_000,
                maintenanceThreshold=300,
                annualEscalatorPct=3,
            ),
            message="Close! I need $3,500 to cover the HOA increase next year.",
            db=db,
        )
    if fresh(ben, "Midtown 2BR Loft"):
        midtown = by_title["Midtown 2BR Loft"].id
        declined = offers.send_offer(
            user_id=ben.id,
            property_id=midtown,
            terms=_terms(2300, 12, model="revenue_share", revenueSharePct=20),
            db=db,
        )
        offers.decline_offer(
            user_id=olivia.id,
            offer_id=declined.offer_id,
            reason="I prefer a guaranteed rent over a revenue share.",
            db=db,
        )
        agreed = offers.send_offer(
            user_id=ben.id,
            property_id=midtown,
            terms=_terms(2600, 12, deposit=2600, subletClause=False),
            message="Guaranteed rent, 30+ night stays only as the HOA requires.",
            db=db,
        )
        offers.accept_offer(user_id=olivia.id, offer_id=agreed.offer_id, db=db)
        deals.set_stage(user_id=ben.id, thread_id=agreed.thread_id, stage="lease_drafted", db=db)
    if fresh(alice, "Lakeside Cottage"):
        lakeside = by_title["Lakeside Cottage"].id
        withdrawn = offers.send_offer(
            user_id=alice.id, property_id=lakeside, terms=_terms(1900, 12), db=db
        )
        offers.withdraw_offer(user_id=alice.id, offer_id=withdrawn.offer_id, db=db)
        offers.send_offer(
            user_id=alice.id,
            property_id=lakeside,
            terms=_terms(2050, 12, deposit=2050),
            message="Corrected offer: I had last year's comps.",
            db=db,
        )


def demo_logins_text() -> str:
    rows = [f"  {d.email:<28} {DEMO_PASSWORD}   ({d.note})" for d in DEMO_USERS]
    return "Demo logins (email / password):\n" + "\n".join(rows)
