"""A full 14-phase business plan, with the awkward content real users produce."""

# ruff: noqa: RUF001 - non-Latin look-alike letters are the point of this sample

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from render import ExportDocument, ExportMember, ExportPhase, ExportSource, ExportVersion

GENERATED = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)

CYRILLIC = "Рынок Восточной Европы растёт быстрее"
GREEK = "Η αγορά της Ελλάδας είναι μικρή"
CJK = "我们的目标市场是中国的中小企业"
JAPANESE = "日本市場への参入は二年目"
ARABIC = "السوق العربية كبيرة"
LONG_WORD = "Donaudampfschifffahrtsgesellschaft" * 8
LONG_URL = "https://example.com/" + "very-long-path-segment/" * 20 + "end"

VISION = f"""Our vision is a **bookkeeping assistant** that a *one-person business* trusts with
its books, so that the owner spends evenings with family rather than receipts.

## Why now

- Small businesses keep records in **spreadsheets** and shoe boxes
  - 62% reconcile their accounts *once a year*
  - Many pay an accountant to re-type receipts
    - The re-typing costs *time* and **money**
- Open banking APIs are finally mandatory in the EU
- Language models read receipts reliably

## Principles

1. The owner stays in control: nothing is filed without approval.
2. Every figure links back to its source document.
3. Plain language, never accounting jargon.

International notes: {CYRILLIC}. {GREEK}. {CJK}. {JAPANESE}. {ARABIC}.
"""

AUDIENCE = """Our first customers are **sole traders** in services:

| Segment | Businesses (EU) | Typical revenue | Pain |
| --- | ---: | --- | --- |
| Consultants | 1,900,000 | €80k | Invoicing and VAT |
| Trades (plumbers, electricians) | 2,400,000 | €120k | Receipts on site |
| Creatives | 1,100,000 | €45k | Irregular income |

Secondary audience: their *accountants*, who want clean books in `CSV` or via an API.
"""

PROBLEM = """Bookkeeping is a chore that is postponed until it becomes a crisis.

> "I lose two weekends a year to my tax return." — a plumber from Lyon

Three costs add up:

1. Time: **40 hours** a year on average
2. Money: late-filing penalties
   1. First offence: a warning
   2. Second offence: 10% surcharge
3. Stress, which is hard to measure but easy to hear in interviews
"""

SOLUTION = """A mobile app and web dashboard:

- Snap a receipt; the assistant reads and files it.
- Bank transactions are matched automatically.
- A quarterly VAT return is drafted for approval.

A categorisation rule looks like this:

```python
if transaction.counterparty in KNOWN_SUPPLIERS:
    category = KNOWN_SUPPLIERS[transaction.counterparty]
```

See the [prototype](https://example.com/prototype) for screens.
"""

MARKET = """## Size

The serviceable market is **5.4 million** businesses in our first three countries [S2].

| Country | Sole traders | Adoption of software |
| --- | --- | --- |
| France | 2,100,000 | 34% |
| Germany | 1,800,000 | 41% |
| Spain | 1,500,000 | 22% |

## Trends

- Mandatory e-invoicing from 2026 [S1]
- Growth of freelancing after 2020 [S2]
"""
MARKET_SOURCES = [
    ExportSource(ref="S1", label="eu-e-invoicing-directive.pdf, p. 4, Timeline"),
    ExportSource(ref="S2", label="sme-survey-2025.pdf, p. 12, Market > Size"),
    ExportSource(ref="S3", label="conversation, 2026-03-02"),
]
"""S3 is stored but not cited in the text: it is not listed."""

COMPETITION = """Incumbents sell to accountants, not owners.

| Competitor | Price / month | Strength | Weakness |
| --- | --- | --- | --- |
| LedgerCo | €29 | Brand | Complex |
| BooksNow | €15 | Cheap | No VAT support |
| Spreadsheet | €0 | Familiar | Error-prone |

Our edge is ~~price~~ **trust**: every number is explained.
"""

BUSINESS_MODEL = """Subscription with three tiers:

1. **Starter** — €9/month, 50 receipts
2. **Pro** — €19/month, unlimited receipts, VAT returns
3. **Accountant** — €49/month per seat

Unit economics: CAC *€60*, payback under **4 months**.
"""

GO_TO_MARKET = f"""Partnerships with banks and trade associations.

Hostile input must survive: <script>alert("x")</script> & <b>unclosed, 5 < 6 > 4,
a <font name="Nope">fake font tag</font> and entities like &amp; or &#0;.

A very long word: {LONG_WORD}

A very long link: {LONG_URL}
"""

OPERATIONS = """## Phase 9: Operations

Support runs from Lisbon; infrastructure is on EU clouds.

#### Support

- Support hours: 08:00–20:00 CET
- Response time target: *under 4 hours*

## Infrastructure

Two EU regions, one in Frankfurt and one in Paris.

> ### A quoted heading
> is not part of the outline.
"""
"""A draft as a model writes one: the phase title repeated, then ``####`` and ``##``."""

TEAM = """| Name | Role | Background |
| --- | --- | --- |
| Ana Souza | CEO | Former bank product lead |
| Jörg Müller | CTO | Built payment systems |
| Елена Петрова | Head of Design | Fintech designer |
"""

MILESTONES = "\n".join(
    ["| Month | Milestone | Owner | Status |", "| --- | --- | --- | --- |"]
    + [
        f"| {m} | Milestone number {m} for the launch plan | Owner {m % 7} | "
        f"{'done' if m < 120 else 'planned'} |"
        for m in range(1, 301)
    ]
)

FINANCIALS = """Revenue grows from **€0.4m** in year 1 to **€6.1m** in year 3.

| Year | Revenue | Costs | EBITDA |
| --- | ---: | ---: | ---: |
| 2026 | €0.4m | €1.9m | −€1.5m |
| 2027 | €2.2m | €2.8m | −€0.6m |
| 2028 | €6.1m | €4.0m | €2.1m |
"""

EXECUTIVE_SUMMARY = """We make bookkeeping **effortless** for sole traders.

- Market: 5.4 million businesses
- Model: subscriptions from €9/month
- Ask: **€2.5m** seed for 24 months of runway
"""

PHASES: list[tuple[str, str, str]] = [
    ("Vision", "completed", VISION),
    ("Audience", "completed", AUDIENCE),
    ("Problem", "completed", PROBLEM),
    ("Solution", "completed", SOLUTION),
    ("Market", "stale", MARKET),
    ("Competition", "completed", COMPETITION),
    ("Business model", "completed", BUSINESS_MODEL),
    ("Go-to-market", "in_progress", GO_TO_MARKET),
    ("Operations", "completed", OPERATIONS),
    ("Team", "completed", TEAM),
    ("Milestones", "completed", MILESTONES),
    ("Financials", "in_progress", FINANCIALS),
    ("Risks", "not_started", ""),
    ("Executive summary", "completed", EXECUTIVE_SUMMARY),
]
STALE_PHASE = 5
MARKET_PHASE = 5
EMPTY_PHASE = 13
WRITTEN = [n for n, (_, _, content) in enumerate(PHASES, start=1) if content]


def _phase(number: int, title: str, status: str, content: str) -> ExportPhase:
    if not content:
        return ExportPhase(number=number, title=title, status="not_started")
    sources = MARKET_SOURCES if number == MARKET_PHASE else []
    start = GENERATED - timedelta(days=30 - number)
    versions = [
        ExportVersion(
            number=1,
            content=content.split("\n\n", maxsplit=1)[0],
            created_at=start,
            author="assistant",
            source="assistant:openai/gpt-4o",
            note="first draft",
        ),
        ExportVersion(
            number=2,
            content=content,
            created_at=start + timedelta(hours=3),
            author="Ana Souza",
            source="user",
        ),
    ]
    return ExportPhase(
        number=number,
        title=title,
        status=status,  # type: ignore[arg-type]
        content=content,
        current_version=2,
        updated_at=versions[-1].created_at,
        versions=versions,
        sources=sources,
    )


def business_plan() -> ExportDocument:
    """The 14-phase sample project every renderer test starts from."""
    return ExportDocument(
        project_id="0c6f3a52-7d4e-4f0e-9a57-2f1d3c9b8e10",
        title="Ledgerly — Business Plan 2026",
        template="business-plan",
        generated_at=GENERATED,
        author="Ana Souza",
        members=[
            ExportMember(name="Ana Souza", role="owner", email="ana@example.com"),
            ExportMember(name="Jörg Müller", role="editor"),
        ],
        metadata={"Company": "Ledgerly SAS", "Stage": "Seed", "Язык": "Русский"},
        phases=[_phase(n, t, s, c) for n, (t, s, c) in enumerate(PHASES, start=1)],
    )


def mostly_empty_plan() -> ExportDocument:
    """A new project: the 14 business-plan phases, only the first one written, briefly."""
    vision = "We help **sole traders** keep their books.\n\n## Why now\n\nOpen banking is here."
    return ExportDocument(
        project_id="5b3c9a10-2d4e-4f0e-9a57-2f1d3c9b8e11",
        title="Bakery Plan",
        template="business-plan",
        generated_at=GENERATED,
        author="Sam Baker",
        phases=[
            _phase(n, title, "completed", vision if n == 1 else "")
            for n, (title, _, _) in enumerate(PHASES, start=1)
        ],
    )
