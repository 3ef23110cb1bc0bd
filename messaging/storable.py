from typing import Any


def storable(value: Any) -> Any:
    """`value` with every string made storable in any database: PostgreSQL's text and jsonb
    refuse NUL characters and lone UTF-16 surrogates, which valid JSON can still carry."""
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value
