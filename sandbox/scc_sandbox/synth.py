"""Deterministic synthetic marketing data for the sandbox (same ``seed`` and ``as_of`` -> same rows).

Contacts carry the dirt the washing rules exist for: countries spelled a dozen ways, states as names and
codes, titles of every job level, padded / mixed-case / invalid / blank / duplicate emails. Activities cover
the 120 data days before ``as_of`` (``as_of - 120`` .. ``as_of - 1``); they are generated per (type, day) on
demand, seeded by (seed, type, day), so a million contacts never need 120 days materialised up front. Campaign
Responses carry dirty statuses and a few unknown campaigns; Salesforce Campaigns are clean.

Every generator returns stored values (see ``formats``): dates as export-format text, booleans as 0/1, None =
blank. Contact ids are 1..n; new contacts created by imports get ids above n.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from scc_sandbox.catalog import ACTIVITY_TYPES, CAMPAIGN_RESPONSES_CDO, EVENTS, SFDC_CAMPAIGNS_CDO, cdo_key
from scc_sandbox.formats import export_ts, midnight

DATA_DAYS = 120

FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Priya",
    "Wei",
    "Yuki",
    "Hans",
    "Sophie",
    "Pierre",
    "Aisha",
    "Mateo",
    "Olga",
    "Kenji",
    "Fatima",
    "Liam",
    "Emma",
    "Noah",
    "Olivia",
    "Lucas",
    "Mia",
    "Arjun",
    "Chloe",
    "Sean",
    "Ingrid",
    "Rafael",
    "Anna",
    "Tomás",
)
LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Patel",
    "Chen",
    "Tanaka",
    "Müller",
    "Dubois",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Kim",
    "Singh",
    "O'Brien",
    "Schmidt",
    "Fischer",
    "Sato",
    "Silva",
    "Cohen",
    "Novak",
    "Larsen",
    "Murphy",
    "Walsh",
)
COMPANIES = (
    ("Acme Corp", "acme.com", "Technology"),
    ("Globex", "globex.com", "Manufacturing"),
    ("Initech", "initech.com", "Technology"),
    ("Umbrella Health", "umbrellahealth.com", "Healthcare"),
    ("Stark Industries", "stark.com", "Manufacturing"),
    ("Wayne Financial", "waynefin.com", "Financial Services"),
    ("Cyberdyne Systems", "cyberdyne.io", "Technology"),
    ("Soylent Foods", "soylent.com", "Retail"),
    ("Hooli", "hooli.com", "Technology"),
    ("Vandelay Industries", "vandelay.com", "Manufacturing"),
    ("Massive Dynamic", "massivedynamic.com", "Telecommunications"),
    ("Oscorp", "oscorp.com", "Healthcare"),
    ("Tyrell Corp", "tyrell.com", "Technology"),
    ("Gringotts Bank", "gringotts.co.uk", "Financial Services"),
    ("Department of Data", "data.gov", "Government"),
    ("Nakatomi Trading", "nakatomi.co.jp", "Financial Services"),
    ("Aperture Science", "aperture.com", "Education"),
    ("Weyland Telecom", "weyland.net", "Telecommunications"),
    ("Bluth Company", "bluth.com", "Retail"),
    ("Pied Piper", "piedpiper.com", "Technology"),
    ("Dunder Mifflin", "dundermifflin.com", "Retail"),
    ("Sirius Cybernetics", "sirius.de", "Technology"),
    ("Blue Sun", "bluesun.com.au", "Energy"),
    ("Monarch Health", "monarchhealth.ca", "Healthcare"),
    ("Ministry of Magic", "mom.gov.uk", "Government"),
    ("Prestige Worldwide", "prestige.fr", "Financial Services"),
)
INDUSTRY_SPELLINGS = {
    "Technology": ("Technology", "technology", " Technology ", "TECHNOLOGY"),
    "Financial Services": ("Financial Services", "financial services", "Financial services "),
    "Healthcare": ("Healthcare", "healthcare"),
    "Government": ("Government", "GOVERNMENT"),
    "Telecommunications": ("Telecommunications", "telecommunications"),
    "Manufacturing": ("Manufacturing",),
    "Retail": ("Retail", "retail"),
    "Education": ("Education",),
    "Energy": ("Energy",),
}
# (ISO-2, spellings, states/provinces as (name, code) or region names, cities)
COUNTRIES: tuple[tuple[Any, ...], ...] = (
    (
        "US",
        (
            "United States",
            "USA",
            "US",
            "U.S.",
            "united states",
            "United States of America",
            " USA ",
            "U.S.A.",
            "United  States",
            "usa",
        ),
        (
            ("California", "CA"),
            ("New York", "NY"),
            ("Texas", "TX"),
            ("Massachusetts", "MA"),
            ("North Carolina", "NC"),
            ("Washington", "WA"),
            ("Illinois", "IL"),
            ("Florida", "FL"),
            ("Georgia", "GA"),
            ("Colorado", "CO"),
        ),
        (
            "San Francisco",
            "New York",
            "Austin",
            "Boston",
            "Raleigh",
            "Seattle",
            "Chicago",
            "Miami",
            "Atlanta",
            "Denver",
        ),
        0.38,
    ),
    (
        "CA",
        ("Canada", "CA", "canada ", "CAN"),
        (("Ontario", "ON"), ("Quebec", "QC"), ("British Columbia", "BC"), ("Alberta", "AB")),
        ("Toronto", "Montreal", "Vancouver", "Calgary"),
        0.07,
    ),
    (
        "GB",
        ("United Kingdom", "UK", "GB", "Great Britain", "U.K."),
        ("England", "Scotland", "Greater London"),
        ("London", "Manchester", "Edinburgh"),
        0.09,
    ),
    (
        "DE",
        ("Germany", "Deutschland", "DE", "germany"),
        ("Bavaria", "Berlin", "Hesse"),
        ("Munich", "Berlin", "Frankfurt"),
        0.08,
    ),
    ("FR", ("France", "FR", "FRA"), ("Île-de-France", "Occitanie"), ("Paris", "Toulouse", "Lyon"), 0.05),
    ("JP", ("Japan", "JP", "japan"), ("Tokyo", "Osaka"), ("Tokyo", "Osaka", "Yokohama"), 0.05),
    ("AU", ("Australia", "AU", "AUS"), ("NSW", "Victoria"), ("Sydney", "Melbourne"), 0.04),
    ("IN", ("India", "IN", "india"), ("Karnataka", "Maharashtra"), ("Bangalore", "Pune", "Mumbai"), 0.07),
    ("BR", ("Brazil", "Brasil", "BR"), ("São Paulo",), ("São Paulo", "Rio de Janeiro"), 0.04),
    ("NL", ("Netherlands", "The Netherlands", "Holland", "NL"), ("Noord-Holland",), ("Amsterdam",), 0.03),
    ("ES", ("Spain", "España", "ES"), ("Madrid",), ("Madrid", "Barcelona"), 0.03),
    ("SG", ("Singapore", "SG"), (), ("Singapore",), 0.02),
    ("MX", ("Mexico", "México", "MX"), ("Jalisco",), ("Guadalajara", "Mexico City"), 0.02),
    ("", ("Atlantis", "N/A", "-", "Earth", "", None), (), ("Springfield", None), 0.03),
)
TITLES = (
    "CEO",
    "Chief Executive Officer",
    "CTO",
    "Chief Information Officer",
    "CFO",
    "COO",
    "Chief Marketing Officer",
    "VP, Engineering",
    "Vice President of Sales",
    "SVP Marketing",
    "EVP Operations",
    "vp of it",
    "Director of IT",
    "Sr. Director, Infrastructure",
    "IT Director",
    "DIRECTOR, PLATFORM ENGINEERING",
    "IT Manager",
    "Engineering Manager",
    "Sr. Manager, Cloud Operations",
    "Product Manager",
    "manager",
    "Software Engineer",
    "Senior Systems Administrator",
    "DevOps Engineer",
    "Data Analyst",
    "Solutions Architect",
    "Consultant",
    "Developer",
    "Network Specialist",
    "Student",
    "Retired",
    "N/A",
    "",
    None,
    None,
)
JOB_LEVELS = ("C-Level", "VP", "Director", "Manager", "Individual Contributor", "Unknown")
DEPARTMENTS = ("IT", "Engineering", "Marketing", "Sales", "Finance", "Operations", None)
STREETS = ("Main St", "Oak Avenue", "Market Street", "Elm Rd", "Innovation Way", "Park Blvd", "High Street")
RESPONSE_STATUSES = (
    ("Responded", 14),
    (" responded ", 4),
    ("RESPONDED", 2),
    ("Attended", 10),
    ("attended ", 3),
    ("Registered", 12),
    ("REGISTERED", 4),
    ("registered", 3),
    ("No-Show", 4),
    ("no_show", 3),
    ("NoShow", 2),
    ("No Show", 2),
    ("no  show", 1),
    ("Sent", 3),
    ("Opened", 2),
    ("", 2),
    (None, 3),
)
CAMPAIGN_TYPES = ("Webinar", "Event", "Trade Show", "Email", "Content Syndication", "Field Event")
CAMPAIGN_TOPICS = (
    "OpenShift",
    "Ansible",
    "RHEL",
    "Hybrid Cloud",
    "Edge",
    "AI Platform",
    "Middleware",
    "Security",
    "Storage",
    "Developer Day",
)
EMAIL_ASSETS = tuple(f"{topic} {kind}" for topic in CAMPAIGN_TOPICS for kind in ("Newsletter", "Invitation"))
HARD_BOUNCES = (
    ("5.1.1", "550", "550 5.1.1 <{email}>: Recipient address rejected: User unknown"),
    ("5.1.10", "550", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found"),
    ("5.2.1", "550", "550 5.2.1 The email account that you tried to reach is disabled"),
    ("5.7.1", "554", "554 5.7.1 Message rejected due to content restrictions"),
    ("5.4.4", "550", "550 5.4.4 Unable to route: no mail hosts for domain"),
)
SOFT_BOUNCES = (
    ("4.2.2", "452", "452 4.2.2 The email account that you tried to reach is over quota"),
    ("4.4.1", "421", "421 4.4.1 Connection timed out"),
    ("4.7.1", "421", "421 4.7.1 Try again later, closing connection"),
    ("4.3.0", "451", "451 4.3.0 Temporary server error. Please try again later"),
    ("4.2.1", "450", "450 4.2.1 The user you are trying to contact is receiving mail too quickly"),
)

# Activities per day: base + rate x contacts (sends >> opens > clicks > form submits).
ACTIVITY_RATES: dict[str, tuple[float, float]] = {
    "EmailSend": (20, 0.05),
    "EmailOpen": (8, 0.012),
    "EmailClickthrough": (4, 0.003),
    "FormSubmit": (2, 0.0008),
    "WebVisit": (4, 0.004),
    "PageView": (6, 0.01),
    "Bounceback": (5, 0.0015),
    "Subscribe": (1, 0.0003),
    "Unsubscribe": (1, 0.0003),
}
EMAIL_TYPES = {"EmailSend", "EmailOpen", "EmailClickthrough", "Bounceback", "Subscribe", "Unsubscribe"}


def data_days(as_of: date) -> list[date]:
    """The days that have activities and campaign responses: ``as_of - 120`` .. ``as_of - 1``."""
    return [as_of - timedelta(days=DATA_DAYS - k) for k in range(DATA_DAYS)]


def _rng(*parts: int | str) -> random.Random:
    return random.Random("|".join(map(str, parts)))


def _irng(seed: int, i: int, salt: int) -> random.Random:
    # int seeding is ~3x cheaper than str seeding, which matters for a million contacts
    return random.Random((seed * 1_000_003 + salt) * 4_294_967_311 + i)


def _ascii(text: str) -> str:
    return (
        text.replace("ü", "u").replace("é", "e").replace("á", "a").replace("'", "").replace(" ", "").lower()
    )


def _identity(seed: int, i: int) -> tuple[random.Random, str, str, tuple[str, str, str]]:
    """Contact ``i``'s name and company, and the generator that then decides its email's dirt."""
    rng = _irng(seed, i, 1)
    return rng, rng.choice(FIRST), rng.choice(LAST), COMPANIES[rng.randrange(len(COMPANIES))]


def _address(first: str, last: str, i: int, company: tuple[str, str, str]) -> str:
    return f"{_ascii(first)}.{_ascii(last)}{i}@{company[1]}"


def clean_email(seed: int, i: int) -> str:
    """The clean address of contact ``i`` before any dirt is applied."""
    _rng, first, last, company = _identity(seed, i)
    return _address(first, last, i, company)


def stored_email(
    seed: int, i: int, identity: tuple[random.Random, str, str, tuple[str, str, str]] | None = None
) -> str | None:
    """Contact ``i``'s email as stored: clean, or padded, mixed-case, invalid, blank or a duplicate."""
    rng, first, last, company = identity or _identity(seed, i)
    email = _address(first, last, i, company)
    r = rng.random()
    if r < 0.02:
        return None
    if r < 0.025:
        return "   "
    if r < 0.045:
        local, domain = email.split("@")
        return rng.choice(
            (
                f"{local}@{domain.rsplit('.', 1)[0]}",
                f"{local.replace('.', ' ')}@{domain}",
                f"{local}.{domain}",
                f"{local}@@{domain}",
                f"{local}@{domain}.",
            )
        )
    if i % 50 == 7 and i > 7:
        # Every 50th contact duplicates an earlier one, spelled differently (raw strings differ, addresses
        # not).
        other = clean_email(seed, i - 1 - rng.randrange(min(i - 1, 40)))
        return rng.choice((other.upper(), f" {other}", other.capitalize(), f"{other} "))
    if r < 0.075:
        return rng.choice((f" {email}", f"{email} ", f"  {email}  "))
    if r < 0.125:
        local, domain = email.split("@")
        return f"{local.title()}@{domain.upper() if rng.random() < 0.5 else domain.capitalize()}"
    return email


def normalized_email(seed: int, i: int) -> str | None:
    email = stored_email(seed, i)
    if email is None or not email.strip():
        return None
    return email.strip().lower()


def _mailable(email: str | None) -> bool:
    if not email or " " in email or email.count("@") != 1 or email.endswith("."):
        return False
    return "." in email.split("@")[1]


def _pick_weighted(rng: random.Random, items: tuple[Any, ...], weights: tuple[float, ...]) -> Any:
    return rng.choices(items, weights)[0]


_COUNTRY_WEIGHTS = tuple(c[4] for c in COUNTRIES)


def _ts(base: datetime, seconds: float) -> str:
    return export_ts(base + timedelta(seconds=seconds))


def contact_row(seed: int, as_of: date, i: int) -> dict[str, Any]:
    """Contact ``i`` (1-based) as stored, keyed by the contacts table columns."""
    identity = _identity(seed, i)
    _r, first, last, (company, _domain, industry) = identity
    email = stored_email(seed, i, identity)
    rng = _irng(seed, i, 3)
    _iso, spellings, regions, cities, _w = _pick_weighted(rng, COUNTRIES, _COUNTRY_WEIGHTS)
    country = rng.choice(spellings)
    state: str | None
    if regions and isinstance(regions[0], tuple):
        name, code = rng.choice(regions)
        state = rng.choice((name, code, code, code.lower(), f" {name} ", name.upper(), f"{code} "))
        if rng.random() < 0.04:
            state = rng.choice(("Calif.", "N.Y.", "Other", ""))
    elif regions and rng.random() < 0.6:
        state = rng.choice(regions)
    else:
        state = None
    end = midnight(as_of)
    created = end - timedelta(seconds=rng.uniform(86_400, 1_100 * 86_400))
    if rng.random() < 0.4:
        # Spread over each of the last 30 days so that every incremental window has some contacts.
        updated = end - timedelta(days=i % 30 + 1) + timedelta(seconds=rng.uniform(0, 86_399.9))
        if created > updated:
            created = updated - timedelta(seconds=rng.uniform(0, 200 * 86_400))
    else:
        lo, hi = created, max(created, end - timedelta(days=30))
        updated = lo + (hi - lo) * rng.random()
    bounced = rng.random() < 0.02
    has_scores = rng.random() < 0.3
    return {
        "id": i,
        "c_emailaddress": email,
        "c_firstname": first if rng.random() > 0.02 else None,
        "c_lastname": last if rng.random() > 0.03 else None,
        "c_company": company if rng.random() > 0.05 else None,
        "c_title": rng.choice(TITLES),
        "c_country": country,
        "c_state_prov": state,
        "c_city": rng.choice(cities),
        "c_industry1": rng.choice(INDUSTRY_SPELLINGS[industry]) if rng.random() > 0.08 else None,
        "c_job_level1": rng.choice(JOB_LEVELS) if rng.random() < 0.3 else None,
        "c_lead_rating1": f"{rng.choice('ABCD')}{rng.randint(1, 4)}" if has_scores else None,
        "c_lead_profile_score1": rng.randrange(0, 101, 10) if has_scores else None,
        "c_lead_engagement_score1": rng.randint(0, 100) if has_scores else None,
        "c_hard_bounced_at1": export_ts(created + (updated - created) * rng.random()) if bounced else None,
        "is_bounced": 1 if bounced else 0,
        "is_subscribed": 1 if rng.random() < 0.85 else 0,
        "created_at": export_ts(created),
        "updated_at": export_ts(updated),
        "c_salutation": rng.choice(("Mr.", "Ms.", "Dr.", None, None)),
        "c_busphone": f"+1 {rng.randint(200, 989)}-555-{rng.randint(1000, 9999)}"
        if rng.random() < 0.7
        else None,
        "c_mobilephone": f"+1 {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
        if rng.random() < 0.4
        else None,
        "c_address1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}" if rng.random() < 0.6 else None,
        "c_address2": f"Suite {rng.randint(100, 999)}" if rng.random() < 0.1 else None,
        "c_zip_postal": f"{rng.randint(1000, 99999):05d}" if rng.random() < 0.6 else None,
        "c_department1": rng.choice(DEPARTMENTS),
    }


def contacts(seed: int, as_of: date, n: int) -> Iterator[dict[str, Any]]:
    for i in range(1, n + 1):
        yield contact_row(seed, as_of, i)


def account_count(n_contacts: int) -> int:
    return max(20, n_contacts // 10)


def accounts(seed: int, as_of: date, n_contacts: int) -> Iterator[dict[str, Any]]:
    end = midnight(as_of)
    for i in range(1, account_count(n_contacts) + 1):
        rng = _irng(seed, i, 11)
        name, _domain, industry = COMPANIES[(i - 1) % len(COMPANIES)]
        _iso, spellings, regions, cities, _w = _pick_weighted(rng, COUNTRIES, _COUNTRY_WEIGHTS)
        created = end - timedelta(seconds=rng.uniform(86_400, 1_500 * 86_400))
        updated = created + (end - created) * rng.random()
        state = None
        if regions:
            state = regions[0][1] if isinstance(regions[0], tuple) else regions[0]
        yield {
            "id": i,
            "m_companyname": name if i <= len(COMPANIES) else f"{name} {i}",
            "m_address1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
            "m_city": rng.choice(cities),
            "m_state_prov": state,
            "m_zip_postal": f"{rng.randint(1000, 99999):05d}",
            "m_country": rng.choice(spellings),
            "m_busphone": f"+1 {rng.randint(200, 989)}-555-{rng.randint(1000, 9999)}",
            "m_industry": industry,
            "companyidext": f"ACC-{i:07d}",
            "created_at": export_ts(created),
            "updated_at": export_ts(updated),
        }


def activity_count(seed: int, n_contacts: int, activity_type: str, day: date) -> int:
    base, rate = ACTIVITY_RATES[activity_type]
    rng = _rng(seed, "count", activity_type, day.isoformat())
    factor = 0.6 if day.weekday() >= 5 else 1.0
    floor = 3 if activity_type == "Bounceback" else 1
    return max(floor, round((base + rate * n_contacts) * factor * rng.uniform(0.85, 1.15)))


def _pick_contact(rng: random.Random, seed: int, n: int) -> tuple[int, str]:
    email: str | None = None
    for _ in range(8):
        if rng.random() < 0.5 and n >= 10:
            i = rng.randrange(n // 10) * 10 + 3  # the engaged tenth of the base
            if i > n:
                i = 3
        else:
            i = rng.randint(1, n)
        email = normalized_email(seed, i)
        if _mailable(email):
            return i, email  # type: ignore[return-value]
    return i, email or clean_email(seed, i)


def activities(
    seed: int, as_of: date, n_contacts: int, activity_type: str, day: date
) -> list[dict[str, Any]]:
    """The activities of one type on one data day, keyed by the activities table columns.

    Empty outside the 120 data days. Some rows have a null ContactId whose email matches a contact, a few
    match no contact. Bouncebacks are about 45% hard (5.x.x / 5xx) and 55% soft (4.x.x / 4xx); every day
    starts with a hard bounce with a null ContactId (matched by email), then a soft and a hard one with a
    ContactId.
    """
    if activity_type not in ACTIVITY_TYPES or day not in set(data_days(as_of)) or n_contacts <= 0:
        return []
    type_index = ACTIVITY_TYPES.index(activity_type)
    rng = _rng(seed, activity_type, day.isoformat())
    count = activity_count(seed, n_contacts, activity_type, day)
    start = midnight(day)
    offsets = sorted(rng.uniform(0, 86_399.999) for _ in range(count))
    is_bounce = activity_type == "Bounceback"
    null_match, null_nomatch = (0.15, 0.05) if is_bounce else (0.03, 0.01)
    rows = []
    for seq, seconds in enumerate(offsets):
        contact_id, email = _pick_contact(rng, seed, n_contacts)
        contact: int | None = contact_id
        r = rng.random()
        if is_bounce and seq < 3:
            # Every day: a hard bounce whose ContactId is null (matched by email), a soft one, a hard one.
            r = 0.0 if seq == 0 else 1.0
        if r < null_match:
            contact = None
        elif r < null_match + null_nomatch:
            contact, email = None, f"someone.{seq}.{day:%m%d}@unknown-{seed}.example"
        asset_index = rng.randrange(len(EMAIL_ASSETS))
        campaign = 1000 + asset_index if rng.random() < 0.85 else None
        row: dict[str, Any] = {
            "id": ((day.toordinal() * 16 + type_index) * 10_000_000) + seq + 1,
            "type": activity_type,
            "created_at": _ts(start, seconds),
            "contact_id": contact,
            "visitor_id": None,
            "visitor_external_id": None,
            "asset_type": None,
            "asset_name": None,
            "asset_id": None,
            "campaign_id": campaign,
            "external_id": None,
            "email_address": email,
            "ip_address": None,
            "email_recipient_id": None,
            "subject_line": None,
            "email_web_link": None,
            "email_clicked_thru_link": None,
            "email_deployment_id": None,
            "email_send_type": None,
            "smtp_error_code": None,
            "smtp_status_code": None,
            "smtp_message": None,
            "referrer_url": None,
            "number_of_pages": None,
            "first_page_view_url": None,
            "duration": None,
            "web_visit_id": None,
            "url": None,
            "is_web_tracking_opted_in": None,
            "raw_data": None,
        }
        ip = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if activity_type in EMAIL_TYPES:
            row.update(
                asset_type="Email",
                asset_id=5000 + asset_index,
                asset_name=EMAIL_ASSETS[asset_index],
                email_recipient_id=f"{rng.getrandbits(64):016x}",
                email_deployment_id=90000 + asset_index,
            )
            if activity_type != "Bounceback":
                row.update(
                    subject_line=f"{EMAIL_ASSETS[asset_index]}: what's new",
                    email_web_link=f"https://s.example.com/e/es?e={5000 + asset_index}",
                    email_send_type=rng.choice(("Campaign", "Campaign", "Batch", "Test")),
                )
            if activity_type in ("EmailOpen", "EmailClickthrough"):
                row["ip_address"] = ip
            if activity_type == "EmailClickthrough":
                row["email_clicked_thru_link"] = (
                    f"https://www.example.com/{CAMPAIGN_TOPICS[asset_index % 10]}"
                )
            if is_bounce:
                hard = rng.random() < 0.45 if seq >= 3 else seq != 1
                code: str | None
                status: str | None
                code, status, message = rng.choice(HARD_BOUNCES if hard else SOFT_BOUNCES)
                shape = rng.random() if seq >= 3 else 1.0
                if shape < 0.1:
                    code = None  # only the SMTP status code
                elif shape < 0.2:
                    status = None  # only the enhanced error code
                row.update(
                    smtp_error_code=code, smtp_status_code=status, smtp_message=message.format(email=email)
                )
        elif activity_type == "FormSubmit":
            row.update(
                asset_type="Form",
                asset_id=7000 + asset_index % 10,
                asset_name=f"{CAMPAIGN_TOPICS[asset_index % 10]} Registration",
                raw_data=f"elqFormName=reg{asset_index % 10}&emailAddress={email}&country=US",
            )
        else:  # WebVisit, PageView
            visitor = 500_000 + (contact_id or 0)
            row.update(visitor_id=visitor, visitor_external_id=f"V{visitor}", ip_address=ip)
            if activity_type == "WebVisit":
                row.update(
                    referrer_url=rng.choice(("https://www.google.com/", "", "https://www.linkedin.com/")),
                    number_of_pages=rng.randint(1, 12),
                    duration=rng.randint(5, 1800),
                    first_page_view_url=f"https://www.example.com/{CAMPAIGN_TOPICS[asset_index % 10]}",
                )
            else:
                row.update(
                    asset_type="Landing Page",
                    asset_id=8000 + asset_index % 10,
                    asset_name=f"{CAMPAIGN_TOPICS[asset_index % 10]} Landing Page",
                    url=f"https://www.example.com/lp/{asset_index % 10}",
                    web_visit_id=rng.randint(10_000_000, 99_999_999),
                    is_web_tracking_opted_in=1,
                )
        rows.append(row)
    return rows


def campaign_count(n_contacts: int) -> int:
    return 25 + n_contacts // 20_000


def _campaign_id(seq: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    tail = ""
    n = seq + 36**3
    while n:
        n, d = divmod(n, 36)
        tail = digits[d] + tail
    return f"7015g00000{tail:>08}".replace(" ", "0")


def sfdc_campaigns(seed: int, as_of: date, n_contacts: int) -> list[dict[str, Any]]:
    """Salesforce Campaigns custom-object rows (keys are the cdo_42 columns)."""
    k = {
        name: cdo_key(SFDC_CAMPAIGNS_CDO, name)
        for name in ("CampaignId", "CampaignName", "CampaignType", "IsActive", "StartDate")
    }
    end = midnight(as_of)
    rows = []
    for seq in range(campaign_count(n_contacts)):
        rng = _irng(seed, seq, 21)
        start = end - timedelta(seconds=rng.uniform(0, 400 * 86_400))
        ctype = CAMPAIGN_TYPES[seq % len(CAMPAIGN_TYPES)]
        created = start - timedelta(days=rng.randint(5, 30))
        rows.append(
            {
                "id": seq + 1,
                "external_id": None,
                "created_at": export_ts(created),
                "updated_at": export_ts(created),
                k["CampaignId"]: _campaign_id(seq),
                k["CampaignName"]: f"FY{start.year % 100 + 1} Q{(start.month - 1) // 3 + 1} {ctype} - "
                f"{CAMPAIGN_TOPICS[seq % len(CAMPAIGN_TOPICS)]}",
                k["CampaignType"]: ctype,
                k["IsActive"]: 1 if rng.random() < 0.8 else 0,
                k["StartDate"]: export_ts(start),
            }
        )
    return rows


UNKNOWN_CAMPAIGN_PREFIX = "701UNKNOWN"


def responses_per_day(n_contacts: int) -> int:
    return 20 + round(n_contacts * 0.002)


def campaign_responses(seed: int, as_of: date, n_contacts: int) -> Iterator[dict[str, Any]]:
    """Campaign Responses rows over the 120 data days (keys are the cdo_41 columns).

    Every fifth data day has exactly one response whose CampaignId is unknown (plus 1% on big days), so a
    small day stays under the 5% quarantine gate while the quarantine path is still exercised.
    """
    k = {
        name: cdo_key(CAMPAIGN_RESPONSES_CDO, name)
        for name in (
            "ResponseId",
            "ContactEmail",
            "CampaignId",
            "ResponseStatus",
            "RespondedAt",
            "CampaignName",
            "CampaignType",
            "LeadRatingAtResponse",
            "StatusNormalized",
        )
    }
    n_campaigns = campaign_count(n_contacts)
    statuses = tuple(s for s, _w in RESPONSE_STATUSES)
    weights = tuple(w for _s, w in RESPONSE_STATUSES)
    next_id = 1
    for day_index, day in enumerate(data_days(as_of)):
        rng = _rng(seed, "responses", day.isoformat())
        count = responses_per_day(n_contacts)
        offsets = sorted(rng.uniform(0, 86_399.999) for _ in range(count))
        for seq, seconds in enumerate(offsets):
            responded = midnight(day) + timedelta(seconds=seconds)
            i = rng.randint(1, max(1, n_contacts))
            r = rng.random()
            if r < 0.05:
                email: str | None = f"guest{seq}.{day:%m%d}@external-{seed}.example"
            elif r < 0.10:
                email = normalized_email(seed, i)
            else:
                email = stored_email(seed, i)
            unknown = (day_index % 5 == 0 and seq == 0) or (seq % 100 == 50)
            campaign = (
                f"{UNKNOWN_CAMPAIGN_PREFIX}{day_index:04d}{seq:04d}"
                if unknown
                else _campaign_id(rng.randrange(n_campaigns))
            )
            created = responded + timedelta(seconds=rng.uniform(1, 240))
            yield {
                "id": next_id,
                "external_id": None,
                "created_at": export_ts(created),
                "updated_at": export_ts(created),
                k["ResponseId"]: f"R{day.toordinal():07d}{seq:05d}",
                k["ContactEmail"]: email,
                k["CampaignId"]: campaign,
                k["ResponseStatus"]: _pick_weighted(rng, statuses, weights),
                k["RespondedAt"]: export_ts(responded),
                k["CampaignName"]: None,
                k["CampaignType"]: None,
                k["LeadRatingAtResponse"]: None,
                k["StatusNormalized"]: None,
            }
            next_id += 1


ELOQUA_CAMPAIGNS = tuple(range(1000, 1000 + len(EMAIL_ASSETS)))  # the campaign ids activities point at
MEMBER_STATUSES = (("Responded", 5.0), ("Registered", 2.0), ("Attended", 1.5), ("Opened", 1.0), ("Clicked", 1.0))


def native_campaign_responses(seed: int, as_of: date, n_contacts: int) -> Iterator[dict[str, Any]]:
    """Eloqua's own campaign responses (``/campaignResponses``): ``5 + 0.05% x contacts`` per data day, each a
    contact's response to one of the Eloqua campaigns activities use; IntegrationReturnValue starts blank."""
    if n_contacts <= 0:
        return
    statuses = tuple(s for s, _w in MEMBER_STATUSES)
    weights = tuple(w for _s, w in MEMBER_STATUSES)
    next_id = 1
    for day in data_days(as_of):
        rng = _rng(seed, "native responses", day.isoformat())
        count = 5 + round(n_contacts * 0.0005)
        for seconds in sorted(rng.uniform(0, 86_399.999) for _ in range(count)):
            yield {
                "id": next_id,
                "created_at": _ts(midnight(day), seconds),
                "member_status": _pick_weighted(rng, statuses, weights),
                "integration_return_value": None,
                "campaign_id": rng.choice(ELOQUA_CAMPAIGNS),
                "contact_id": rng.randint(1, n_contacts),
            }
            next_id += 1


def event_registrants(seed: int, as_of: date, n_contacts: int, event_id: int) -> Iterator[dict[str, Any]]:
    """Registrants of a synthetic event: every contact whose id is ``event_id + 2`` modulo ``9 + 2·event_id``,
    registered in the 30 days before ``as_of`` with the contact's clean email and names; about 60% attended
    (event 1 only). Keys are the event table's columns (``f<fieldId>``)."""
    event = EVENTS[event_id]
    ids = {f.name: f.key for f in event.entity.fields if f.listed}
    step = 9 + 2 * event_id
    sessions = ("Keynote", "Data Quality Workshop", "Lead Scoring Deep Dive", "Partner Track")
    next_id = 1
    for i in range(event_id + 2, n_contacts + 1, step):
        rng = _irng(seed, i, 50 + event_id)
        row = contact_row(seed, as_of, i)
        registered = midnight(as_of) - timedelta(seconds=rng.uniform(3_600, 30 * 86_400))
        out: dict[str, Any] = {
            "id": next_id,
            "created_at": export_ts(registered),
            "updated_at": export_ts(registered),
            "contact_id": i,
            ids["Email Address"]: clean_email(seed, i),
            ids["First Name"]: row.get("c_firstname"),
            ids["Last Name"]: row.get("c_lastname"),
            ids["Registered At"]: export_ts(registered),
        }
        if "Session" in ids:
            out[ids["Company"]] = row.get("c_company")
            out[ids["Session"]] = rng.choice(sessions)
            out[ids["Attended"]] = 1 if rng.random() < 0.6 else 0
        yield out
        next_id += 1
