"""Path convertors of the API's routes: ``{name:id}``, a numeric id of any length.

Starlette's ``int`` convertor matches any run of digits and calls ``int()`` on it, which
raises past Python's 4,300-digit conversion limit: a 500 for a bad path. ``id`` matches
the same paths (digits only, so ``/orders/preview`` never matches ``/orders/{id}``) and
turns an id of more than ID_DIGITS_MAX digits into ID_TOO_LARGE, which is past every
limit, so the route's own validation refuses it with a 422 like any other id out of
range. Importing this module registers it (the routers import it before declaring paths).
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

ID_DIGITS_MAX = 19
ID_TOO_LARGE = 2**63


class IdConvertor(Convertor[int]):
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value) if len(value) <= ID_DIGITS_MAX else ID_TOO_LARGE

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
