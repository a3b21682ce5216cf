"""The API's JSON parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]): DRF's, with a bound on nesting, so a body
nested 10,000 levels deep is a 400 with a message instead of a RecursionError and a 500."""

import codecs
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json as drf_json

from config.json_bounds import JSONTooDeep, json_loads_bounded


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser (NaN and Infinity refused as there), reading through json_loads_bounded."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json_loads_bounded(text, parse_constant=parse_constant)
        except JSONTooDeep as deep:
            raise ParseError(
                f"The JSON body is nested too deeply (more than {deep.limit} levels of arrays and objects)."
            ) from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
