#!/usr/bin/env python
# Validates the XML document on standard input against the XML Schema in the file argv[1] with
# the `xmlschema` package (a full XSD 1.0 validator; scripts/test installs it). Prints "valid",
# or "invalid" and the validator's reasons. Schemas are read offline: the XML namespace's
# schema (xml:lang) comes from the copy xmlschema ships.

import sys

import xmlschema

schema = xmlschema.XMLSchema10(sys.argv[1], allow="local")
errors = list(schema.iter_errors(sys.stdin.read()))
if errors:
    print("invalid")
    for error in errors:
        print(f"{error.reason} at {error.path}")
else:
    print("valid")
