"""A payer that answers 270s with 271s, for tests and local runs (no clearinghouse is reachable).

``build_271`` writes a 271 to the standard for a given inquiry and ``Answer``; ``FakePayer`` is
a real HTTP server (stdlib, in a thread) that checks each 270 strictly, with our envelope reader
and x12sdk's 270 model, and answers it: 400 with the reason when the 270 is invalid. It also takes
278 review requests (checked with ``read_278``) and acknowledges them in plain text, as a payer's
portal would before its reviewers decide; ``review_status`` makes it refuse them.

    with FakePayer({"M-ACTIVE": Answer(copay=Decimal("20"))}) as payer:
        ...point a payer's x12_endpoint at payer.url...
"""

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from x12sdk.io import X12ModelReader

from caremesh_insurance.domain.x12.envelope import VERSION, Segment, X12Error, read
from caremesh_insurance.domain.x12.review_check import read_278

# AAA03 codes that say the inquiry itself was wrong (AAA01 N); the others leave it valid (Y).
INVALID_INPUT = frozenset({"15", "33", "43", "44", "57", "58", "64", "65", "72", "73", "79", "T4"})
STANDARD_TYPES = ["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]


@dataclass
class Answer:
    active: bool = True
    plan: str = "GOLD 123 PLAN"
    copay: Decimal | None = Decimal("25.00")
    copay_out_of_network: Decimal | None = None
    coinsurance: Decimal | None = None  # a fraction, as EB08 carries it
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    visits_per_year: int | None = None
    visits_remaining: int | None = None
    authorization_required: bool = False
    non_covered: list[str] = field(default_factory=list)  # CPT/HCPCS codes the payer names as not covered
    rejection: tuple[str, str, str] | None = None  # (level: payer/receiver/patient, AAA03, AAA04)
    plan_begin: date | None = date(2026, 1, 1)
    raw: str | None = None  # answer this body instead (for malformed responses)
    status: int = 200


def eb(*elements: str) -> list[str]:
    """An EB segment from its elements in order (EB01, EB02, …)."""
    return ["EB", *elements]


def _fmt(x: Decimal) -> str:
    return f"{x:f}"


def benefits(a: Answer) -> list[list[str]]:
    types = "^".join(STANDARD_TYPES)
    if not a.active:
        return [eb("6", "", "30")]
    out = [
        eb("1", "", "30", "", a.plan),
        eb("1", "", types, "", "", "", "", "", "", "", "Y" if a.authorization_required else ""),
    ]
    if a.copay is not None:
        out.append(eb("B", "", types, "HM", a.plan, "27", _fmt(a.copay), "", "", "", "", "Y"))
    if a.copay_out_of_network is not None:
        out.append(eb("B", "", types, "HM", a.plan, "27", _fmt(a.copay_out_of_network), "", "", "", "", "N"))
    if a.coinsurance is not None:
        out.append(eb("A", "", types, "HM", a.plan, "27", "", _fmt(a.coinsurance), "", "", "", "Y"))
    if a.deductible is not None:
        out.append(eb("C", "IND", "30", "", "", "23", _fmt(a.deductible), "", "", "", "", "Y"))
    if a.deductible_remaining is not None:
        out.append(eb("C", "IND", "30", "", "", "29", _fmt(a.deductible_remaining), "", "", "", "", "Y"))
    if a.visits_per_year is not None:
        out.append(eb("F", "", "98", "", "", "23", "", "", "VS", str(a.visits_per_year)))
    if a.visits_remaining is not None:
        out.append(eb("F", "", "98", "", "", "29", "", "", "VS", str(a.visits_remaining)))
    for code in a.non_covered:
        out.append(eb("I", "", "1", "", a.plan, "", "", "", "", "", "", "", f"HC:{code}"))
    return out


@dataclass
class Inquiry:
    """What a 270 asks, as the fake payer reads it."""

    sender: str
    receiver: str
    bht03: str
    payer: list[str]
    provider: list[str]
    subscriber: list[str]
    dependent: list[str] | None
    trace: list[str]
    service_date: str

    @property
    def member_id(self) -> str:
        return self.subscriber[9] if len(self.subscriber) > 9 else ""


def read_270(text: str) -> Inquiry:
    """Check a 270 strictly (ours, then x12sdk's model) and pick out what the 271 echoes."""
    interchange = read(text, expect="270", strict=True)
    try:
        with X12ModelReader(interchange.clean()) as reader:
            if len(list(reader.models())) != 1:
                raise X12Error("x12sdk found no 270 transaction")
    except X12Error:
        raise
    except Exception as exc:  # noqa: BLE001 - x12sdk reports a bad 270 with assorted errors
        raise X12Error(f"x12sdk refused the 270: {str(exc).splitlines()[0][:200]}") from None
    segs: list[Segment] = interchange.transactions[0].segments
    nm1 = {s.el(1): s.elements for s in segs if s.tag == "NM1"}
    trn = next(s.elements for s in segs if s.tag == "TRN")
    dtp = next((s.el(3) for s in segs if s.tag == "DTP" and s.el(1) == "291"), "")
    bht = next(s for s in segs if s.tag == "BHT")
    return Inquiry(
        sender=interchange.isa.el(6).strip(),
        receiver=interchange.isa.el(8).strip(),
        bht03=bht.el(3),
        payer=nm1["PR"],
        provider=nm1["1P"],
        subscriber=nm1["IL"],
        dependent=nm1.get("03"),
        trace=trn,
        service_date=dtp,
    )


def build_271(q: Inquiry, a: Answer, control_number: int = 1, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    icn, tcn = f"{control_number:09d}", f"{control_number:04d}"
    segments: list[list[str]] = [["BHT", "0022", "11", q.bht03, now.strftime("%Y%m%d"), now.strftime("%H%M")]]
    level, code, follow = a.rejection or ("", "", "")

    def aaa(at: str) -> list[list[str]]:
        valid = "N" if code in INVALID_INPUT else "Y"
        return [["AAA", valid, "", code, follow]] if a.rejection and level == at else []

    dependent = q.dependent is not None
    segments += [["HL", "1", "", "20", "1"], q.payer, *aaa("payer")]
    if a.rejection and level == "payer":
        return _envelope(q, segments, icn, tcn, now)
    segments += [["HL", "2", "1", "21", "1"], q.provider, *aaa("receiver")]
    if a.rejection and level == "receiver":
        return _envelope(q, segments, icn, tcn, now)
    trn = ["TRN", "2", q.trace[2], q.trace[3]]
    subscriber = q.subscriber
    plan_dates = [["DTP", "346", "D8", a.plan_begin.strftime("%Y%m%d")]] if a.plan_begin else []
    segments.append(["HL", "3", "2", "22", "1" if dependent else "0"])
    if dependent:
        assert q.dependent is not None
        segments += [subscriber, ["HL", "4", "3", "23", "0"], trn, q.dependent, *aaa("patient")]
    else:
        segments += [trn, subscriber, *aaa("patient")]
    if not (a.rejection and level == "patient"):
        segments += plan_dates + benefits(a)
    return _envelope(q, segments, icn, tcn, now)


def _envelope(q: Inquiry, body: list[list[str]], icn: str, tcn: str, now: datetime) -> str:
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        q.receiver.ljust(15),
        "ZZ",
        q.sender.ljust(15),
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        "^",
        "00501",
        icn,
        "0",
        "T",
        ":",
    ]
    st = ["ST", "271", tcn, VERSION]
    se = ["SE", str(len(body) + 2), tcn]
    segs = [
        isa,
        ["GS", "HB", q.receiver, q.sender, now.strftime("%Y%m%d"), now.strftime("%H%M"), str(int(icn)), "X", VERSION],
        st,
        *body,
        se,
        ["GE", "1", str(int(icn))],
        ["IEA", "1", icn],
    ]
    return "".join("*".join(_trim(s)) + "~" for s in segs)


def _trim(elements: list[str]) -> list[str]:
    out = list(elements)
    while len(out) > 1 and out[-1] == "":
        out.pop()
    return out


class FakePayer:
    """A real HTTP endpoint answering 270s; ``answers`` by member id, else ``default``."""

    def __init__(self, answers: dict[str, Answer] | None = None, default: Answer | None = None) -> None:
        self.answers = answers or {}
        self.default = default or Answer()
        self.received: list[str] = []
        self.reviews: list[str] = []  # 278 requests taken
        self.review_status = 200
        self._server: ThreadingHTTPServer | None = None
        self._count = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/x12/270"

    def answer(self, body: str) -> tuple[int, str]:
        if "ST*278*" in body:
            return self.review(body)
        self.received.append(body)
        try:
            inquiry = read_270(body)
        except X12Error as exc:
            return 400, f"invalid 270: {exc}"
        a = self.answers.get(inquiry.member_id, self.default)
        if a.raw is not None or a.status != 200:
            return a.status, a.raw or ""
        self._count += 1
        return 200, build_271(inquiry, a, control_number=self._count)

    def review(self, body: str) -> tuple[int, str]:
        try:
            request = read_278(body)
        except X12Error as exc:
            return 400, f"invalid 278: {exc}"
        if self.review_status != 200:
            return self.review_status, "unavailable"
        self.reviews.append(body)
        return 200, f"received {request.control_number} trace {request.trace}: pending review"

    def __enter__(self) -> "FakePayer":
        payer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                status, text = payer.answer(self.rfile.read(length).decode("utf-8", "replace"))
                data = text.encode()
                self.send_response(status)
                self.send_header("content-type", "application/EDI-X12")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:  # quiet: the bodies hold patient data
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
