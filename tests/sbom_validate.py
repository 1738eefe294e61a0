#!/usr/bin/env python3
"""Validates SBOM documents for tests/it/sbom.rs.

    sbom_validate.py cyclonedx FILE...   JSON Schema (bom-1.6.schema.json, its $refs resolved
                                         from tests/fixtures/sbom) and the CycloneDX project's
                                         own JsonStrictValidator(SchemaVersion.V1_6)
    sbom_validate.py spdx FILE...        JSON Schema (spdx-2.3-schema.json)

Exit status: 0 every file is valid, 1 at least one is not (the errors on stdout), 2 usage
error or a missing library (never mistaken for "invalid", so the Rust test cannot pass on a
machine without the validators: .ci/run installs them).
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE / "fixtures" / "sbom"


def fail_setup(message):
    print(f"sbom_validate: {message}", file=sys.stderr)
    sys.exit(2)


try:
    from jsonschema import Draft7Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT7
except ImportError as e:  # the test must fail, not skip
    fail_setup(f"jsonschema/referencing missing ({e}); pip install 'cyclonedx-python-lib[json-validation]'")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def schema_validator(schema_path, *refs):
    schema = load(schema_path)
    registry = Registry()
    for ref in refs:
        doc = load(ref)
        # The bom schema names its neighbours relative to its own $id; register them under theirs.
        registry = registry.with_resource(doc["$id"], DRAFT7.create_resource(doc))
    Draft7Validator.check_schema(schema)
    # Formats (date-time, iri-reference, ...) are checked too, as the CycloneDX library does.
    return Draft7Validator(schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)


def errors_of(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(doc)]


def main(argv):
    if len(argv) < 3 or argv[1] not in ("cyclonedx", "spdx"):
        fail_setup("usage: sbom_validate.py cyclonedx|spdx FILE...")
    kind, files = argv[1], argv[2:]
    strict = None
    if kind == "cyclonedx":
        validator = schema_validator(
            SCHEMAS / "cyclonedx" / "bom-1.6.schema.json",
            SCHEMAS / "cyclonedx" / "spdx.schema.json",
            SCHEMAS / "cyclonedx" / "jsf-0.82.schema.json",
        )
        try:
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonStrictValidator
        except ImportError as e:
            fail_setup(f"cyclonedx-python-lib missing ({e}); pip install 'cyclonedx-python-lib[json-validation]'")
        strict = JsonStrictValidator(SchemaVersion.V1_6)
    else:
        validator = schema_validator(SCHEMAS / "spdx" / "spdx-2.3-schema.json")
    bad = 0
    for name in files:
        text = pathlib.Path(name).read_text(encoding="utf-8")
        problems = errors_of(validator, json.loads(text))
        if strict is not None:
            err = strict.validate_str(text)
            if err is not None:
                problems.append(f"JsonStrictValidator: {err}")
        if problems:
            bad += 1
            print(f"INVALID {name}")
            for p in problems[:20]:
                print(f"  {p[:300]}")
        else:
            print(f"valid {name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
