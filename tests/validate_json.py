#!/usr/bin/env python3
"""Validates JSON files against docs/audit.schema.json.

    validate_json.py SCHEMA DEF FILE...

DEF is "audit", "state" or "show" (a definition under $defs), or "any" for the
whole schema. Prints every error with its path and exits 1 if any file is
invalid, 2 on bad usage or an unreadable schema; 0 when all are valid.
Needs the jsonschema module (Debian: python3-jsonschema).
"""
import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema_path, definition, files = argv[1], argv[2], argv[3:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    if definition != "any":
        if definition not in schema.get("$defs", {}):
            print(f"no definition {definition!r} in {schema_path}", file=sys.stderr)
            return 2
        # Keep $defs and $id so references resolve; validate against one of them.
        schema = dict(schema)
        schema.pop("oneOf", None)
        schema["$ref"] = "#/$defs/" + definition
    validator = validator_class(schema)
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            instance = json.load(f)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
