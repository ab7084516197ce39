"""Autodiscover: tells a client the EWS URL of a mailbox, in both of Exchange's dialects.

- SOAP (``POST /autodiscover/autodiscover.svc``, operation GetUserSettings), what
  exchangelib 5 and the EWS Managed API use: a known mailbox gets its settings
  (``ExternalEwsUrl``, ``InternalEwsUrl``, ...), an unknown one ``InvalidUser``, and a
  setting the sandbox does not serve ``SettingIsNotAvailable`` (clients ignore that).
- POX (``POST /autodiscover/autodiscover.xml``), what Outlook uses: the Outlook provider
  response with the ``EXCH`` and ``EXPR`` protocols and their ``EwsUrl``; an unknown
  address gets error 500 "The email address can't be found."

Both require the same authentication as EWS itself (401 with challenges first). The EWS
URL is the sandbox's own (scheme and host of the request) unless one is configured.
"""

from __future__ import annotations

import datetime as dt
import uuid

from lxml import etree
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from esexchange.sandbox.directory import Directory, MailboxEntry
from esexchange.sandbox.ews.auth import AuthChallenge, TokenVerifier, authenticate, unauthorized

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ANS = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
POX_REQUEST = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
POX_BASE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
POX_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

EWS_PATH = "/EWS/Exchange.asmx"
# Exchange 2016 CU23, as its Autodiscover reports itself (the EWS endpoint says the same build).
CAS_VERSION = "15.01.2507.006"
SUPPORTED_SCHEMAS = (
    "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, "
    "Exchange2013, Exchange2013_SP1, Exchange2016"
)
_ACTION = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def autodiscover_routes(
    directory: Directory, token_verifier: TokenVerifier, ews_url: str | None = None
) -> list[Route]:
    """Routes of both Autodiscover endpoints; `ews_url` overrides the URL they announce."""

    def announced_url(request: Request) -> str:
        return ews_url or str(request.base_url).rstrip("/") + EWS_PATH

    def refusal(request: Request) -> Response | None:
        """The 401 answer unless the request signs in as an account or app of the directory."""
        try:
            authenticate(request.headers, directory, token_verifier)
        except AuthChallenge as challenge:
            return unauthorized(challenge, request.headers.get("host", "localhost"))
        return None

    async def soap(request: Request) -> Response:
        if (refused := refusal(request)) is not None:
            return refused
        body = get_user_settings(await request.body(), directory, announced_url(request))
        return Response(body, media_type="text/xml; charset=utf-8")

    async def pox(request: Request) -> Response:
        if (refused := refusal(request)) is not None:
            return refused
        status, body = outlook_settings(await request.body(), directory, announced_url(request))
        return Response(body, status_code=status, media_type="text/xml; charset=utf-8")

    return [
        Route("/autodiscover/autodiscover.svc", soap, methods=["POST"]),
        Route("/autodiscover/autodiscover.xml", pox, methods=["POST"]),
        Route("/Autodiscover/Autodiscover.xml", pox, methods=["POST"]),
    ]


# --- SOAP: GetUserSettings ----------------------------------------------------------------


def get_user_settings(payload: bytes, directory: Directory, ews_url: str) -> bytes:
    """The GetUserSettings response for a SOAP request (an InvalidRequest one if unreadable)."""
    try:
        root = etree.fromstring(payload, _PARSER)
        request = root.find(
            f"{{{SOAP}}}Body/{{{ANS}}}GetUserSettingsRequestMessage/{{{ANS}}}Request"
        )
    except etree.XMLSyntaxError:
        request = None
    envelope, response = _soap_response()
    if request is None:
        _text(response, "ErrorCode", "InvalidRequest")
        _text(response, "ErrorMessage", "The request is not a GetUserSettings request.")
        etree.SubElement(response, _a("UserResponses"))
        return _serialize(envelope)
    users = [
        m.text or "" for m in request.iterfind(f"{{{ANS}}}Users/{{{ANS}}}User/{{{ANS}}}Mailbox")
    ]
    wanted = [
        s.text or "" for s in request.iterfind(f"{{{ANS}}}RequestedSettings/{{{ANS}}}Setting")
    ]
    _text(response, "ErrorCode", "NoError")
    _text(response, "ErrorMessage", "")
    responses = etree.SubElement(response, _a("UserResponses"))
    for address in users:
        _user_response(responses, directory.mailbox(address.strip()), address, wanted, ews_url)
    return _serialize(envelope)


def _soap_response() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "a": WSA})
    header = etree.SubElement(envelope, f"{{{SOAP}}}Header")
    action = etree.SubElement(header, f"{{{WSA}}}Action", {f"{{{SOAP}}}mustUnderstand": "1"})
    action.text = _ACTION + "GetUserSettingsResponse"
    info = etree.SubElement(header, f"{{{ANS}}}ServerVersionInfo", nsmap={"h": ANS, "i": XSI})
    for name, value in (
        ("MajorVersion", "15"),
        ("MinorVersion", "1"),
        ("MajorBuildNumber", "2507"),
        ("MinorBuildNumber", "6"),
        ("Version", "Exchange2015"),
    ):
        etree.SubElement(info, f"{{{ANS}}}{name}").text = value
    body = etree.SubElement(envelope, f"{{{SOAP}}}Body")
    message = etree.SubElement(body, _a("GetUserSettingsResponseMessage"), nsmap={None: ANS})
    return envelope, etree.SubElement(message, _a("Response"), nsmap={"i": XSI})


def _user_response(
    parent: etree._Element,
    mailbox: MailboxEntry | None,
    address: str,
    wanted: list[str],
    ews_url: str,
) -> None:
    user = etree.SubElement(parent, _a("UserResponse"))
    if mailbox is None:
        _text(user, "ErrorCode", "InvalidUser")
        _text(user, "ErrorMessage", f"Invalid user: '{address}'")
        etree.SubElement(user, _a("RedirectTarget"), {f"{{{XSI}}}nil": "true"})
        etree.SubElement(user, _a("UserSettingErrors"))
        etree.SubElement(user, _a("UserSettings"))
        return
    served = _settings(mailbox, ews_url)
    _text(user, "ErrorCode", "NoError")
    _text(user, "ErrorMessage", "No error.")
    etree.SubElement(user, _a("RedirectTarget"), {f"{{{XSI}}}nil": "true"})
    errors = etree.SubElement(user, _a("UserSettingErrors"))
    settings = etree.SubElement(user, _a("UserSettings"))
    for name in wanted:
        if name in served:
            setting = etree.SubElement(
                settings, _a("UserSetting"), {f"{{{XSI}}}type": "StringSetting"}
            )
            _text(setting, "Name", name)
            _text(setting, "Value", served[name])
        else:
            error = etree.SubElement(errors, _a("UserSettingError"))
            _text(error, "ErrorCode", "SettingIsNotAvailable")
            _text(error, "ErrorMessage", f"User setting '{name}' is not available.")
            _text(error, "SettingName", name)


def _settings(mailbox: MailboxEntry, ews_url: str) -> dict[str, str]:
    return {
        "UserDisplayName": mailbox.name,
        "UserDN": _legacy_dn(mailbox),
        "UserDeploymentId": _deployment_id(mailbox),
        "AutoDiscoverSMTPAddress": mailbox.email,
        "InternalEwsUrl": ews_url,
        "ExternalEwsUrl": ews_url,
        "EwsSupportedSchemas": SUPPORTED_SCHEMAS,
        "CasVersion": CAS_VERSION,
        "ExternalEwsVersion": CAS_VERSION,
    }


# --- POX: the Outlook provider ------------------------------------------------------------


def outlook_settings(payload: bytes, directory: Directory, ews_url: str) -> tuple[int, bytes]:
    """(HTTP status, body) of the POX answer for an Outlook provider request."""
    try:
        root = etree.fromstring(payload, _PARSER)
    except etree.XMLSyntaxError:
        return 200, _pox_error("600", "Invalid Request")
    address = root.findtext(f"{{{POX_REQUEST}}}Request/{{{POX_REQUEST}}}EMailAddress")
    schema = root.findtext(f"{{{POX_REQUEST}}}Request/{{{POX_REQUEST}}}AcceptableResponseSchema")
    if not address or (schema or "").strip() != POX_OUTLOOK:
        return 200, _pox_error("600", "Invalid Request")
    mailbox = directory.mailbox(address.strip())
    if mailbox is None:
        return 200, _pox_error("500", "The email address can't be found.")
    document = etree.Element(f"{{{POX_BASE}}}Autodiscover", nsmap={None: POX_BASE})
    response = etree.SubElement(document, _o("Response"), nsmap={None: POX_OUTLOOK})
    user = etree.SubElement(response, _o("User"))
    for name, value in (
        ("DisplayName", mailbox.name),
        ("LegacyDN", _legacy_dn(mailbox)),
        ("AutoDiscoverSMTPAddress", mailbox.email),
        ("DeploymentId", _deployment_id(mailbox)),
    ):
        etree.SubElement(user, _o(name)).text = value
    account = etree.SubElement(response, _o("Account"))
    for name, value in (
        ("AccountType", "email"),
        ("Action", "settings"),
        ("MicrosoftOnline", "False"),
    ):
        etree.SubElement(account, _o(name)).text = value
    host = ews_url.split("://", 1)[-1].split("/", 1)[0]
    for kind, auth in (("EXCH", "Negotiate"), ("EXPR", "Basic")):
        protocol = etree.SubElement(account, _o("Protocol"))
        for name, value in (
            ("Type", kind),
            ("Server", host),
            ("ServerVersion", "73C189CB"),  # 15.1.2507 in Outlook's hex notation
            ("SSL", "On" if ews_url.startswith("https://") else "Off"),
            ("AuthPackage", auth),
            ("ASUrl", ews_url),
            ("EwsUrl", ews_url),
            ("EwsPartnerUrl", ews_url),
        ):
            etree.SubElement(protocol, _o(name)).text = value
    return 200, _serialize(document)


def _pox_error(code: str, message: str) -> bytes:
    document = etree.Element(f"{{{POX_BASE}}}Autodiscover", nsmap={None: POX_BASE})
    response = etree.SubElement(document, f"{{{POX_BASE}}}Response")
    now = dt.datetime.now(dt.UTC)
    error = etree.SubElement(
        response,
        f"{{{POX_BASE}}}Error",
        Time=now.strftime("%H:%M:%S.%f"),
        Id=str(uuid.uuid4().int % 10**10),
    )
    etree.SubElement(error, f"{{{POX_BASE}}}ErrorCode").text = code
    etree.SubElement(error, f"{{{POX_BASE}}}Message").text = message
    etree.SubElement(error, f"{{{POX_BASE}}}DebugData")
    return _serialize(document)


# --- shared -------------------------------------------------------------------------------


def _legacy_dn(mailbox: MailboxEntry) -> str:
    local = mailbox.email.split("@", 1)[0]
    return (
        "/o=esExchange Sandbox/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
        f"/cn=Recipients/cn={local}"
    )


def _deployment_id(mailbox: MailboxEntry) -> str:
    domain = mailbox.email.split("@", 1)[1].lower()
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, domain))


def _a(name: str) -> str:
    return f"{{{ANS}}}{name}"


def _o(name: str) -> str:
    return f"{{{POX_OUTLOOK}}}{name}"


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, _a(name)).text = value


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
