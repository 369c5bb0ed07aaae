"""Reject answers that would produce a broken project, before cookiecutter writes anything.

Answers are rendered through `tojson`, so quotes, backslashes and newlines reach Python intact.
A failing check prints which field is wrong and what it must look like, then exits 1: cookiecutter
then removes the half-made directory.
"""

import json
import keyword
import re
import sys

# Rendered answers: single-quoted raw strings, because tojson output starts with ".
# fmt: off
ANSWERS = {
    "project_name": json.loads(r'''{{ cookiecutter.project_name | tojson }}'''),
    "project_slug": json.loads(r'''{{ cookiecutter.project_slug | tojson }}'''),
    "package_name": json.loads(r'''{{ cookiecutter.package_name | tojson }}'''),
    "author_name": json.loads(r'''{{ cookiecutter.author_name | tojson }}'''),
    "author_email": json.loads(r'''{{ cookiecutter.author_email | tojson }}'''),
    "artifact_name": json.loads(r'''{{ cookiecutter.artifact_name | tojson }}'''),
    "dvc_remote": json.loads(r'''{{ cookiecutter.dvc_remote | tojson }}'''),
    "s3_endpoint_url": json.loads(r'''{{ cookiecutter.s3_endpoint_url | tojson }}'''),
}
# fmt: on

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# GTO's artifact-name grammar without "/" (the name is also a file name under models/).
ARTIFACT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
RESERVED_PACKAGES = {"weightline", "tests", "conf", "data", "models"}


def problems(a: dict[str, str]) -> list[str]:
    """Every rule an answer breaks, as 'field: rule (got ...)' lines."""
    found = []

    def bad(field: str, rule: str) -> None:
        found.append(f"{field}: {rule} (got {a[field]!r})")

    if not a["project_name"].strip() or any(not c.isprintable() for c in a["project_name"]):
        bad("project_name", "must be non-empty text on one line")
    if not SLUG.match(a["project_slug"]):
        bad(
            "project_slug",
            "must start with a letter or digit and use only letters, digits, '.', '_' and '-' "
            "(no spaces or slashes)",
        )
    package = a["package_name"]
    if not package.isidentifier() or not package.isascii():
        bad("package_name", "must be an ASCII Python identifier, e.g. tumour_classifier")
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        bad("package_name", "must not be a Python keyword")
    elif package in RESERVED_PACKAGES or package in sys.stdlib_module_names:
        bad("package_name", "must not shadow 'weightline', a project folder or a standard module")
    if not EMAIL.match(a["author_email"]):
        bad("author_email", "must be an e-mail address like name@example.com")
    if not ARTIFACT.match(a["artifact_name"]):
        bad(
            "artifact_name",
            "must be letters, digits, '-' or '_', starting and ending with a letter or digit "
            "(it becomes tags like model@v1.0.0)",
        )
    found += remote_problems(a["dvc_remote"], a["s3_endpoint_url"])
    return found


def remote_problems(remote: str, endpoint: str) -> list[str]:
    """The DVC remote is a local directory or s3://bucket/prefix; the endpoint only goes with S3."""
    found = []
    if not remote.strip() or any(not c.isprintable() for c in remote):
        found.append(f"dvc_remote: must be a directory path or s3://bucket/prefix (got {remote!r})")
        return found
    match = SCHEME.match(remote)
    if match and match.group(1).lower() != "s3":
        found.append(
            f"dvc_remote: unknown scheme {match.group(1)!r}; use a local directory path or "
            f"s3://bucket/prefix (got {remote!r})"
        )
    elif match and not S3_BUCKET.match(match.group(2).split("/", 1)[0]):
        found.append(
            f"dvc_remote: {match.group(2).split('/', 1)[0]!r} is not a valid S3 bucket name "
            f"(lowercase letters, digits, '.', '-'; 3 to 63 characters) (got {remote!r})"
        )
    if endpoint:
        if not match:
            found.append(
                f"s3_endpoint_url: only used with an s3:// remote; leave it empty "
                f"(got {endpoint!r})"
            )
        elif not re.match(r"^https?://[^\s/]+", endpoint):
            found.append(f"s3_endpoint_url: must be an http:// or https:// URL (got {endpoint!r})")
    return found


if __name__ == "__main__":
    errors = problems(ANSWERS)
    if errors:
        print("weightline: cannot generate the project:", file=sys.stderr)
        for line in errors:
            print(f"  - {line}", file=sys.stderr)
        print("Run cookiecutter again with corrected answers.", file=sys.stderr)
        sys.exit(1)
