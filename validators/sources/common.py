"""Checks every source runs the same way: dates inside the account's life, required parts."""

from datetime import datetime

from validators.report import Check, CheckStatus, Record


def passed(name: str, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.PASS, reason=reason)


def failed(name: str, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.FAIL, reason=reason)


def not_available(name: str, reason: str) -> Check:
    return Check(name=name, status=CheckStatus.NOT_AVAILABLE, reason=reason)


def date_checks(
    records: list[Record], export_time: datetime | None, registered_at: datetime | None
) -> list[Check]:
    """Nothing dated after the export, nothing before the account existed."""
    checks = []
    if export_time is None:
        checks.append(failed("dates", "the export time is missing or unreadable"))
        return checks
    late = [r for r in records if r.created_at and r.created_at > export_time]
    exported = f"{export_time:%Y-%m-%d %H:%M}"
    checks.append(
        failed("no items after export", f"{len(late)} items dated after the export time "
               f"{exported}, first {late[0].record_id}")
        if late
        else passed("no items after export", f"every item is dated before {exported}")
    )  # fmt: skip
    if registered_at is None:
        checks.append(not_available("no items before registration", "no registration date"))
    else:
        early = [r for r in records if r.created_at and r.created_at < registered_at]
        checks.append(
            failed("no items before registration", f"{len(early)} items dated before the "
                   f"account was registered, first {early[0].record_id}")
            if early
            else passed("no items before registration", "every item is dated after registration")
        )  # fmt: skip
    return checks
