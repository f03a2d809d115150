"""Demo data for `make run`: idempotent, built through the services like real use.

Re-running finds the same users, properties and threads, and the messages carry fixed
client_msg_ids, so a second run adds nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from arbibase_chat.models import UserPublic
from arbibase_chat.services import accounts, messages, properties, threads, verification
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
    DemoUser("alice@demo.arbibase.test", "Alice Carter", "operator", "pro", True, "operator, pro"),
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
    ],
    "oscar@demo.arbibase.test": [
        ("Lakeside Cottage", "7 Shoreline Rd", "Austin", "TX", 210_000, 2, 1.0, 900),
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


def demo_logins_text() -> str:
    rows = [f"  {d.email:<28} {DEMO_PASSWORD}   ({d.note})" for d in DEMO_USERS]
    return "Demo logins (email / password):\n" + "\n".join(rows)
