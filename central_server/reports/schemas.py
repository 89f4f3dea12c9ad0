"""HTTP shapes of the reports area (pydantic), mirroring ``shared.reports`` JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FiguresBody(BaseModel):
    """Additive figures: credits in credit units, money in the currency's minor units."""

    model_config = ConfigDict(extra="forbid")

    sales_count: int
    sales_units: int = Field(description="credits sold at the counter, voids deducted")
    sales_cash_units: int
    sales_card_units: int
    redemptions_count: int
    redemptions_units: int
    vouchers_paid_count: int
    vouchers_paid_units: int
    payouts_cash_units: int
    rounds: int
    wagers_units: int
    wins_units: int
    vouchers_issued_count: int
    vouchers_issued_units: int
    checkouts_units: int
    checkins_units: int
    tickets_in_count: int
    tickets_in_units: int
    online_count: int
    online_units: int
    online_fiat_units: int
    voids_count: int
    voided_sales_units: int
    over_short_units: int


class RowBody(FiguresBody):
    key: str = Field(description="device id, actor, local hour 00-23, location or day")


class ShiftRowBody(BaseModel):
    shift_id: str
    pos_id: str
    cashier_id: str | None
    opened_at: str | None
    float_units: int | None
    closed_at: str | None
    expected_units: int | None
    counted_units: int | None


class DailyReportBody(BaseModel):
    """A location's day (shared.reports.DailyReport.to_json); rebuild it with DailyReport.from_json."""

    location_id: str
    day: str = Field(description="local calendar day, YYYY-MM-DD")
    currency: str
    timezone: str
    totals: FiguresBody
    by_device: list[RowBody]
    by_cashier: list[RowBody]
    by_hour: list[RowBody] = Field(description="24 rows, local hours 00 to 23")
    shifts: list[ShiftRowBody]
    entries_count: int
    unmatched_void_ids: list[str]
