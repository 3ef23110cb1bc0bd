"""Business hours: is a business number open at a given moment?"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from automation.models import BusinessHours


def load_hours(business_number):
    """The number's business hours with their periods and holidays (three queries), or None
    when it has none (always open)."""
    return (
        BusinessHours.objects.filter(business_number=business_number)
        .prefetch_related("periods", "holidays")
        .first()
    )


def is_open(hours, moment):
    """Whether `moment` (aware) falls inside the opening periods of `hours`, in its time zone.

    A period whose closing time is not after its opening time runs past midnight into the
    next day. A holiday cancels the periods that start on it, an overnight one into the next
    morning too; a period that started the day before a holiday runs to its end. No hours at
    all: always open.
    """
    if hours is None:
        return True
    local = moment.astimezone(ZoneInfo(hours.time_zone))
    today, now = local.date(), local.time()
    holidays = {holiday.date for holiday in hours.holidays.all()}
    for period in hours.periods.all():
        overnight = period.closes <= period.opens
        opened_today = period.weekday == today.weekday() and today not in holidays
        if opened_today and period.opens <= now and (overnight or now < period.closes):
            return True
        yesterday = today - timedelta(days=1)
        opened_yesterday = period.weekday == yesterday.weekday() and yesterday not in holidays
        if overnight and opened_yesterday and now < period.closes:
            return True
    return False
