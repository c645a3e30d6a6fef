"""tokworks yt-dlp helper: one long-lived process of the worker's yt-dlp pool.

Protocol (one JSON object per line, UTF-8):
  stdout, first line:  {"ok": true, "ready": true, "yt_dlp_version": "...",
                        "impersonation": "chrome"|null}
  stdin, per request:  {"url": "...", "proxy": "..."|null, "insecure_tls": bool,
                        "socket_timeout": seconds}
  stdout, per request: {"ok": true, "item": {...}|null, "status_code": int, "info": {...},
                        "webpage_url": "...", "thumbnail": {"url", "content_type",
                        "data_base64"}|null, "thumbnail_error": "..."|null,
                        "cookies": [{"name", "value", "domain"}],
                        "timings_ms": {"extract": ms, "thumbnail": ms}}
                    or {"ok": false, "error": {"type", "cause_type", "http_status", "message",
                        "orig_msg", "expected", "status_code"}}
Nothing else is ever written to stdout: yt-dlp's output goes to stderr through a logger, and
sys.stdout itself points at stderr while yt-dlp runs.

Only the TikTok extractors are allowed (no generic extractor: no request to arbitrary hosts).
The URL is only ever a value inside the request JSON, never a command-line option.

Every request of a session impersonates Chrome (TLS and HTTP/2 fingerprint, through curl_cffi)
when yt-dlp can; the ready line says whether it can. Each URL starts with an empty cookie jar and
answers with the TikTok cookies it ended with, so the worker continues the item's session
(subtitles) with the same cookies and proxy.
"""

import base64
import json
import sys
import time
import traceback

PROTOCOL_OUT = sys.stdout
sys.stdout = sys.stderr

import yt_dlp  # noqa: E402
from yt_dlp.extractor.tiktok import TikTokIE  # noqa: E402
from yt_dlp.networking import Request  # noqa: E402
from yt_dlp.networking.exceptions import HTTPError  # noqa: E402
from yt_dlp.networking.impersonate import ImpersonateTarget  # noqa: E402
from yt_dlp.utils import DownloadError, ExtractorError  # noqa: E402

MAX_THUMBNAIL_BYTES = 8 * 1024 * 1024
ALLOWED_EXTRACTORS = ["tiktok", "vm.tiktok"]
INFO_FIELDS = (
    "id", "title", "description", "duration", "timestamp", "uploader", "uploader_id",
    "channel", "channel_id", "webpage_url", "original_url", "thumbnail", "view_count",
    "like_count", "comment_count", "repost_count", "save_count", "track", "artists",
    "extractor", "extractor_key", "width", "height",
)

# What TikTokIE parsed from the page: the raw itemStruct, its statusCode and the page URL.
CAPTURED = {}
_original_extract_web_data_and_status = TikTokIE._extract_web_data_and_status


def _capturing_extract_web_data_and_status(self, url, video_id, fatal=True):
    CAPTURED.clear()
    CAPTURED["url"] = url
    video_data, status = _original_extract_web_data_and_status(self, url, video_id, fatal=fatal)
    CAPTURED["item"] = video_data
    CAPTURED["status"] = status
    return video_data, status


TikTokIE._extract_web_data_and_status = _capturing_extract_web_data_and_status

# Size of the last page TikTokIE downloaded: yt-dlp reports an empty 200 (TikTok's bot answer)
# and a page without data (layout drift) with the same message, so the worker needs the size.
_original_download_webpage_handle = TikTokIE._download_webpage_handle


def _measuring_download_webpage_handle(self, *args, **kwargs):
    result = _original_download_webpage_handle(self, *args, **kwargs)
    if isinstance(result, tuple) and result and isinstance(result[0], str):
        CAPTURED["webpage_bytes"] = len(result[0].strip())
    return result


TikTokIE._download_webpage_handle = _measuring_download_webpage_handle


class StderrLogger:
    """Routes yt-dlp's messages to stderr, one line each (stdout is the protocol channel)."""

    def debug(self, message):
        if not message.startswith("[debug] "):
            self._write(message)

    def info(self, message):
        self._write(message)

    def warning(self, message):
        self._write(message)

    def error(self, message):
        self._write(message)

    @staticmethod
    def _write(message):
        sys.stderr.write(message.replace("\n", " ") + "\n")
        sys.stderr.flush()


SESSIONS = {}
# The browser every request presents (TikTok walls non-browser TLS more often).
IMPERSONATE = ImpersonateTarget("chrome")


def impersonation_available():
    probe = yt_dlp.YoutubeDL({"quiet": True, "logger": StderrLogger()})
    try:
        return probe._impersonate_target_available(IMPERSONATE)
    finally:
        probe.close()


CAN_IMPERSONATE = impersonation_available()


def session_for(request):
    """One YoutubeDL per (proxy, tls, timeout): built once, reused (11 ms/URL instead of 250)."""
    key = (request.get("proxy"), bool(request.get("insecure_tls")), request.get("socket_timeout"))
    session = SESSIONS.get(key)
    if session is None:
        params = {
            "quiet": True,
            "no_warnings": False,
            "logger": StderrLogger(),
            "allowed_extractors": ALLOWED_EXTRACTORS,
            "skip_download": True,
            "noplaylist": True,
            "cachedir": False,
            "color": {"stdout": "no_color", "stderr": "no_color"},
            "nocheckcertificate": bool(request.get("insecure_tls")),
            "socket_timeout": float(request.get("socket_timeout") or 20),
        }
        if request.get("proxy"):
            params["proxy"] = request["proxy"]
        if CAN_IMPERSONATE:
            params["impersonate"] = IMPERSONATE
        session = yt_dlp.YoutubeDL(params)
        SESSIONS[key] = session
    return session


def thumbnail_url_of(info, item):
    video = (item or {}).get("video") or {}
    for candidate in (video.get("originCover"), video.get("cover"), info.get("thumbnail")):
        if isinstance(candidate, str) and candidate.startswith("http"):
            return candidate
    return None


def tiktok_cookies(session):
    cookies = []
    for cookie in session.cookiejar:
        domain = (cookie.domain or "").lstrip(".").lower()
        if domain == "tiktok.com" or domain.endswith(".tiktok.com"):
            cookies.append({"name": cookie.name, "value": cookie.value or "", "domain": domain})
    return cookies


def download_thumbnail(session, url, referer):
    response = session.urlopen(Request(url, headers={"Referer": referer}))
    data = response.read(MAX_THUMBNAIL_BYTES + 1)
    if len(data) > MAX_THUMBNAIL_BYTES:
        raise ValueError(f"thumbnail larger than {MAX_THUMBNAIL_BYTES} bytes")
    content_type = response.headers.get("Content-Type") or "application/octet-stream"
    return {
        "url": url,
        "content_type": content_type.split(";")[0].strip(),
        "data_base64": base64.b64encode(data).decode("ascii"),
    }


def describe_error(error):
    real = error
    if isinstance(error, DownloadError) and error.exc_info and error.exc_info[1] is not None:
        real = error.exc_info[1]
    cause = getattr(real, "cause", None)
    http_status = None
    for candidate in (real, cause):
        if isinstance(candidate, HTTPError):
            http_status = candidate.status
            break
    return {
        "type": type(real).__name__,
        "cause_type": type(cause).__name__ if cause is not None else None,
        "http_status": http_status,
        "message": str(error),
        "orig_msg": getattr(real, "orig_msg", None),
        "expected": bool(getattr(real, "expected", False)),
        "status_code": CAPTURED.get("status"),
        "webpage_bytes": CAPTURED.get("webpage_bytes"),
    }


def handle(request):
    url = request.get("url")
    if not isinstance(url, str) or not url:
        return {"ok": False, "error": {"type": "BadRequest", "message": "missing url",
                                       "expected": True}}
    session = session_for(request)
    session.cookiejar.clear()
    CAPTURED.clear()
    started = time.monotonic()
    try:
        info = session.extract_info(url, download=False)
    except (DownloadError, ExtractorError) as error:
        return {"ok": False, "error": describe_error(error)}
    info = session.sanitize_info(info) or {}
    item = CAPTURED.get("item") or None
    webpage_url = info.get("webpage_url") or CAPTURED.get("url") or url
    response = {
        "ok": True,
        "item": item,
        "status_code": CAPTURED.get("status", 0),
        "info": {field: info.get(field) for field in INFO_FIELDS},
        "webpage_url": webpage_url,
        "thumbnail": None,
        "thumbnail_error": None,
        "timings_ms": {"extract": (time.monotonic() - started) * 1000.0},
    }
    thumbnail_started = time.monotonic()
    thumbnail_url = thumbnail_url_of(info, item)
    if thumbnail_url:
        try:
            response["thumbnail"] = download_thumbnail(session, thumbnail_url, webpage_url)
        except Exception as error:  # noqa: BLE001 - a missing cover must not fail the video
            response["thumbnail_error"] = f"{type(error).__name__}: {error}"
    else:
        response["thumbnail_error"] = "no cover URL in the item"
    response["timings_ms"]["thumbnail"] = (time.monotonic() - thumbnail_started) * 1000.0
    response["cookies"] = tiktok_cookies(session)
    return response


def reply(message):
    PROTOCOL_OUT.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n")
    PROTOCOL_OUT.flush()


def main():
    reply({"ok": True, "ready": True, "yt_dlp_version": yt_dlp.version.__version__,
           "impersonation": str(IMPERSONATE) if CAN_IMPERSONATE else None})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            response = handle(request)
        except Exception as error:  # noqa: BLE001 - one bad request must not kill the helper
            traceback.print_exc(file=sys.stderr)
            response = {"ok": False, "error": {"type": type(error).__name__,
                                               "message": str(error), "expected": False}}
        reply(response)


if __name__ == "__main__":
    main()
