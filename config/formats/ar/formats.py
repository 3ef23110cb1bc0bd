"""Arabic date and time formats Django's own locale leaves out: without them a moment falls
back to the English "N j, Y, P" (Arabic month, English order and commas) and its short form to
month/day/year, while the date alone reads day, month, year. The same order, separator and
clock as Django's Arabic DATE_FORMAT, SHORT_DATE_FORMAT and TIME_FORMAT."""

DATETIME_FORMAT = "j F، Y، g:i A"
SHORT_DATETIME_FORMAT = "d‏/m‏/Y g:i A"
