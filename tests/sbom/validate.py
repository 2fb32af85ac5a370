#!/usr/bin/env python3
"""The SBOM checks reagent's tests ask for (SPDX goes to `pyspdxtools -i`).

    validate.py cyclonedx FILE   validate FILE against its CycloneDX JSON schema
                                 (cyclonedx-python-lib's strict validator); exit 1
                                 with every error when it does not conform
    validate.py purls FILE       parse the purl of every component of the
                                 CycloneDX document FILE with packageurl-python
                                 and print them as one JSON list of
                                 {type, namespace, name, version, qualifiers}
    validate.py --self-check     exit 0 when the libraries and pyspdxtools are there
"""

import json
import os
import shutil
import sys


def cyclonedx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path, encoding="utf-8") as f:
        text = f.read()
    version = SchemaVersion.from_version(json.loads(text)["specVersion"])
    errors = JsonStrictValidator(version).validate_str(text, all_errors=True)
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        return 1
    print(f"valid CycloneDX {version.to_version()}")
    return 0


def purls(path):
    from packageurl import PackageURL

    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    out = []
    for component in doc.get("components", []):
        p = PackageURL.from_string(component["purl"])
        out.append(
            {
                "type": p.type,
                "namespace": p.namespace,
                "name": p.name,
                "version": p.version,
                "qualifiers": p.qualifiers or {},
            }
        )
    json.dump(out, sys.stdout)
    return 0


def self_check():
    import cyclonedx.validation.json  # noqa: F401
    import packageurl  # noqa: F401
    import spdx_tools  # noqa: F401

    here = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(here, "pyspdxtools")) and not shutil.which("pyspdxtools"):
        print("pyspdxtools is missing", file=sys.stderr)
        return 1
    return 0


def main(argv):
    if argv == ["--self-check"]:
        return self_check()
    if len(argv) == 2 and argv[0] == "cyclonedx":
        return cyclonedx(argv[1])
    if len(argv) == 2 and argv[0] == "purls":
        return purls(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
