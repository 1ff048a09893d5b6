"""MaxCompute-shaped error responses, so pyodps raises its own exception classes.

pyodps (``odps.errors.parse_response``) reads ``<Error><Code/><Message/><RequestId/>
<HostId/>`` and picks the exception class by the ``Code`` text (``NoSuchObject`` ->
``odps.errors.NoSuchObject``).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

HOST_ID = "envctl-emulator"

# The service's documented API error for a bad request parameter (ODPS-04CCCCX family).
INVALID_PARAMETER = "ODPS-0420061: Invalid parameter in HTTP request"


class ServiceError(Exception):
    """A request the emulated service refuses; rendered as an XML error body."""

    def __init__(self, status: int, code: str, message: str, *, close: bool = False) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.close = close
        """Answer at once and close the connection instead of reading the rest of the body."""


def error_body(code: str, message: str, request_id: str) -> bytes:
    """The exact XML envelope MaxCompute returns for a failed REST call."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error>\n"
        f"  <Code>{escape(code)}</Code>\n"
        f"  <Message><![CDATA[{message}]]></Message>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n"
        f"  <HostId>{HOST_ID}</HostId>\n"
        "</Error>\n"
    ).encode()


def no_such_object(what: str) -> ServiceError:
    return ServiceError(404, "NoSuchObject", f"The specified {what} does not exist.")


def already_exists(what: str) -> ServiceError:
    return ServiceError(409, "ObjectAlreadyExists", f"The specified {what} already exists.")


def merge_target_exists(name: str) -> ServiceError:
    """A merge onto an existing resource. Measured live (status, code and message)."""
    return ServiceError(
        409, "ObjectAlreadyExists", f"ODPS-0421121: The resource has already existed - {name}"
    )


def merge_signature_mismatch() -> ServiceError:
    """A merge whose parts do not hash to the declared md5. Measured live."""
    return ServiceError(
        500,
        "InternalServerError",
        "ODPS-0421213: Save resource error - Merge part temp files failed! "
        "Message: The merged file's signature does not match!",
    )


def missing_header(header: str) -> ServiceError:
    """A required header is absent. Measured live for the merge's total-bytes header."""
    return ServiceError(
        400, "InvalidParameter", f"ODPS-0420051: Missing header in HTTP request - {header}"
    )


def no_such_part(name: str) -> ServiceError:
    """A merge names a part that does not exist. Status and code measured live; text assumed."""
    return ServiceError(404, "NoSuchObject", f"ODPS-0421111: Resource not found - {name}")


def unauthorized() -> ServiceError:
    # Wording of the real service's reply to a request with no/invalid Authorization header.
    return ServiceError(
        401, "Unauthorized", "The request authorization header is invalid or missing."
    )


def invalid_parameter(detail: str) -> ServiceError:
    return ServiceError(400, "InvalidParameter", f"{INVALID_PARAMETER} - {detail}")


def resource_too_large(size: int, limit: int) -> ServiceError:
    """Oversize single resource. The exact production message is not public; the code
    family (ODPS-0420061, HTTP 400, pyodps ``InvalidParameter``) is the documented one for
    a rejected request parameter."""
    return invalid_parameter(
        f"resource size {size} bytes exceeds the limit of {limit} bytes for a single resource"
    )


def method_not_allowed(method: str, path: str) -> ServiceError:
    return ServiceError(405, "MethodNotAllowed", f"{method} is not supported on {path}.")


def not_implemented(path: str) -> ServiceError:
    return no_such_object(f"object {path!r} (not implemented by the envctl emulator)")


_STATUS_CODES = {
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def injected(status: int) -> ServiceError:
    """The error a fault rule answers with; 5xx codes map to pyodps's server-error classes."""
    code = _STATUS_CODES.get(status, "InternalServerError" if status >= 500 else "InvalidParameter")
    return ServiceError(
        status, code, f"ODPS-0010000: System internal error - injected fault (HTTP {status})"
    )
