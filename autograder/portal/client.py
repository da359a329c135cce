"""`course submit --to URL`: the JSON API's client side (httpx only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


class UploadError(Exception):
    """The portal refused the upload or could not be reached; the message says why."""


def upload(url: str, token: str, module: str, archive: Path, timeout: float = 120.0) -> dict[str, Any]:
    """POST the archive to URL/api/submissions; the portal's answer ({"id": ...})."""
    try:
        with open(archive, "rb") as fh:
            response = httpx.post(
                f"{url.rstrip('/')}/api/submissions",
                headers={"Authorization": f"Bearer {token}"},
                data={"module": module},
                files={"file": (archive.name, fh, "application/zip")},
                timeout=timeout,
            )
    except httpx.HTTPError as exc:
        raise UploadError(f"cannot reach {url}: {exc}") from None
    if response.status_code != 201:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise UploadError(f"the portal answered {response.status_code}: {detail}")
    answer: dict[str, Any] = response.json()
    return answer
