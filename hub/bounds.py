"""The ranges every day, moment and count a client sends must lie in.

Beyond them date arithmetic overflows (a deadline plus its escalation days past year 9999, a moment at
9999-12-31 -14:00 moved to UTC) and so do SQL integers (an offset of 10^21). Each is refused with a 400 naming
the field, in the API's schemas (`Day`, `Moment`, `Offset`) and in the page forms (`check_day`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from hub.errors import BadRequest

FIRST_YEAR, LAST_YEAR = 2000, 2199
MAX_OFFSET = 1_000_000
MAX_PAGE = MAX_OFFSET // 10


def _in_range(value: date) -> bool:
    # the year of the value as given (no time-zone conversion, which is what overflows)
    return FIRST_YEAR <= value.year <= LAST_YEAR


def _day(value: date) -> date:
    if not _in_range(value):
        raise ValueError(f"a day between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _moment(value: datetime) -> datetime:
    if not _in_range(value):
        raise ValueError(f"a moment between {FIRST_YEAR} and {LAST_YEAR}")
    return value


# The documents say the years too (a pattern on the ISO text), so a client knows the range before it is refused.
YEARS_PATTERN = r"^2[01][0-9]{2}-"
Day = Annotated[date, AfterValidator(_day), Field(json_schema_extra={"pattern": YEARS_PATTERN})]
Moment = Annotated[AwareDatetime, AfterValidator(_moment), Field(json_schema_extra={"pattern": YEARS_PATTERN})]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


def check_day(value: date | datetime, field: str) -> None:
    """A day or moment from a page form: BadRequest `out_of_range` outside the years the hub handles."""
    if not _in_range(value):
        raise BadRequest("out_of_range", f"{field}: between {FIRST_YEAR} and {LAST_YEAR}", field=field)
