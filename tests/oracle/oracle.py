#!/usr/bin/env python3
"""Oracle for reagent-gentoo: answers version and advisory questions with
Gentoo's own `portage` package, so the Rust implementation can be checked
against it (crates/reagent-gentoo/tests/oracle.rs).

Protocol: one JSON object on stdin, one JSON object on stdout.

  request = {
    "vercmp":      [[v1, v2], ...],          # portage.versions.vercmp
    "catpkgsplit": ["cat/pkg-1.0-r1", ...],  # portage.versions.catpkgsplit
    "glsa_cases":  [{"arch": "amd64",
                     "installed": [{"cpv": "cat/pkg-1.0", "slot": "0/1"}],
                     "advisories": ["<glsa xml>", ...]}, ...]
  }
  response = {
    "vercmp":      [-1 | 0 | 1 | null, ...],       # null: a version is invalid
    "catpkgsplit": [[cat, pkg, ver, rev] | null, ...],
    "glsa_cases":  [[{"error": str | null,
                      "vulnerable": bool | null,   # Glsa.isVulnerable()
                      "affected": [cpv, ...]}]]    # sorted
  }

portage.glsa runs without a configured Gentoo system: the Glsa class only
needs a dict-like config with GLSA_DIR and ARCH, a vardbapi and a portdbapi.
We give it portage's own fakedbapi (portage.dbapi.virtual) holding the
installed packages, an empty fakedbapi as the ebuild repository, and point
PORTAGE_CONFIGROOT / ROOT at a temporary directory. `affected` lists, for
the entries whose arch applies, the installed packages getMinUpgrade()
reports as vulnerable (its v_installed minus u_installed): the same
computation isVulnerable() makes, kept per package. Every entry's atoms are
evaluated, whatever its arch, so that an invalid one always raises.

`python oracle.py --self-check` verifies that all of this imports and runs.
"""

import atexit
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile

_TMP = tempfile.mkdtemp(prefix="reagent-oracle-")
# Portage's config root and the GLSA cases live here only while the oracle runs.
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
os.environ["PORTAGE_CONFIGROOT"] = _TMP
os.environ["ROOT"] = _TMP
os.environ.setdefault("PORTAGE_USERNAME", "root")
os.environ.setdefault("PORTAGE_GRPNAME", "root")

with contextlib.redirect_stderr(io.StringIO()):
    import portage
    from portage import glsa as pglsa
    from portage.dbapi.virtual import fakedbapi
    from portage.versions import catpkgsplit, vercmp

    _SETTINGS = portage.settings


def _sign(x):
    if x is None:
        return None
    return (x > 0) - (x < 0)


def _new_db():
    return fakedbapi(settings=_SETTINGS, exclusive_slots=False)


def run_glsa_case(case, case_no):
    vardb = _new_db()
    for pkg in case["installed"]:
        vardb.cpv_inject(pkg["cpv"], metadata={"SLOT": pkg["slot"]})
    portdb = _new_db()
    arch = case["arch"]
    glsa_dir = os.path.join(_TMP, f"case-{case_no}")
    os.makedirs(glsa_dir, exist_ok=True)
    config = {"GLSA_DIR": glsa_dir, "ARCH": arch}
    results = []
    for n, xml in enumerate(case["advisories"]):
        path = os.path.join(glsa_dir, f"glsa-test-{n}.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(xml)
        result = {"error": None, "vulnerable": None, "affected": []}
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                g = pglsa.Glsa(path, config, vardb, portdb)
                affected = set()
                for entries in g.packages.values():
                    for entry in entries:
                        if not pglsa.ARCH_REGEX.match(entry["arch"]):
                            raise pglsa.GlsaFormatException(
                                f"bad arch list {entry['arch']!r}"
                            )
                        applies = entry["arch"] == "*" or arch in entry["arch"].split()
                        upgrades = pglsa.getMinUpgrade(
                            entry["vul_atoms"], entry["unaff_atoms"], portdb, vardb
                        )
                        if applies and upgrades:
                            affected.update(str(vuln) for vuln, _ in upgrades)
                result["vulnerable"] = bool(g.isVulnerable())
                result["affected"] = sorted(affected)
        except Exception as e:  # any failure of portage is an answer too
            result = {
                "error": f"{type(e).__name__}: {e}",
                "vulnerable": None,
                "affected": [],
            }
        results.append(result)
    return results


def answer(request):
    response = {
        "vercmp": [_sign(vercmp(a, b)) for a, b in request.get("vercmp", [])],
        "catpkgsplit": [],
        "glsa_cases": [],
    }
    for s in request.get("catpkgsplit", []):
        split = catpkgsplit(s)
        response["catpkgsplit"].append(list(split) if split else None)
    for n, case in enumerate(request.get("glsa_cases", [])):
        response["glsa_cases"].append(run_glsa_case(case, n))
    return response


SELF_CHECK_GLSA = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
<glsa id="200001-01">
  <title>t</title><synopsis>s</synopsis><product type="ebuild">foo</product>
  <announced>2000-01-01</announced><revised count="1">2000-01-01</revised>
  <bug>1</bug><access>remote</access>
  <affected><package name="dev-libs/foo" auto="yes" arch="*">
    <unaffected range="ge">1.2</unaffected><vulnerable range="lt">1.2</vulnerable>
  </package></affected>
  <background><p>b</p></background><description><p>d</p></description>
  <impact type="high"><p>i</p></impact><workaround><p>w</p></workaround>
  <resolution><p>r</p></resolution><references><uri link="x">x</uri></references>
</glsa>
"""


def self_check():
    out = answer(
        {
            "vercmp": [["1.0", "1.0.0"]],
            "catpkgsplit": ["dev-libs/foo-1.2-r1"],
            "glsa_cases": [
                {
                    "arch": "amd64",
                    "installed": [{"cpv": "dev-libs/foo-1.1", "slot": "0"}],
                    "advisories": [SELF_CHECK_GLSA],
                }
            ],
        }
    )
    expected = {
        "vercmp": [-1],
        "catpkgsplit": [["dev-libs", "foo", "1.2", "r1"]],
        "glsa_cases": [
            [{"error": None, "vulnerable": True, "affected": ["dev-libs/foo-1.1"]}]
        ],
    }
    if out != expected:
        print(f"self-check failed: {json.dumps(out)}", file=sys.stderr)
        return 1
    print(f"ok: portage {portage.VERSION}")
    return 0


def main():
    if sys.argv[1:] == ["--self-check"]:
        return self_check()
    request = json.load(sys.stdin)
    json.dump(answer(request), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
