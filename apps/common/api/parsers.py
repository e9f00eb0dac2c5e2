"""The JSON every endpoint accepts: bounded in depth and free of control characters, so no
request body reaches a serializer, the database or a log line in a shape they cannot handle."""

import re

from rest_framework import parsers
from rest_framework.exceptions import ValidationError

from apps.common.api.errors import DomainError

MAX_JSON_DEPTH = 32
# C0 controls and DEL, except tab, line feed and carriage return (text fields may hold those).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHARACTERS_MESSAGE = "Control characters (such as NUL) are not allowed."


class InvalidJson(DomainError):
    code = "invalid_json"
    default_detail = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # the decoder's own limit, far above ours
            raise InvalidJson() from None
        refuse_control_characters(data)
        return data


def refuse_control_characters(data) -> None:
    """Walk the parsed body without recursion: too deep is InvalidJson; a key or string with a
    control character is a 400 naming its field (`items.0.reason`)."""
    pending = [(data, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidJson()
        if isinstance(value, str):
            if CONTROL_CHARACTERS.search(value):
                raise ValidationError({path or "non_field_errors": [CONTROL_CHARACTERS_MESSAGE]})
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else key
                if CONTROL_CHARACTERS.search(key):
                    raise ValidationError({name: [CONTROL_CHARACTERS_MESSAGE]})
                pending.append((item, name, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}.{index}" if path else str(index), depth + 1)
                           for index, item in enumerate(value))
